/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-ring/main.c
 * @brief A full trace ring drops new records, counts them, and corrupts
 *        nothing.
 *
 * With a 16-record ring, 40 watched writes keep the first 16 records
 * intact (sequence numbers 0-15, each with its value), report 24 lost on
 * the read, and the sequence numbers of later records show the gap.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "A full trace ring";

static volatile uint32_t page[PAGE_SIZE / 4] __page_bss;

void test_main(void)
{
    struct xen_rshadow_record r[32];
    struct xen_rshadow_stats s;
    unsigned int nr = ARRAY_SIZE(r), i;
    uint64_t lost = 0;

    rshadow_require();
    if ( rshadow_enable(16) ||
         rshadow_watch(virt_to_gfn((const void *)page), 1,
                       XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot set up the watch\n");

    for ( i = 0; i < 40; i++ )
        page[i] = 1000 + i;

    if ( rshadow_read(r, &nr, &lost) )
        return xtf_error("cannot read the trace\n");
    if ( nr != 16 || lost != 24 )
        xtf_failure("read %u records with %llu lost, expected 16 and 24\n", nr,
                    (unsigned long long)lost);
    for ( i = 0; i < nr; i++ )
        if ( r[i].seq != i || r[i].value != 1000 + i ||
             r[i].linear != (unsigned long)&page[i] )
        {
            xtf_failure("record %u corrupted\n", i);
            rshadow_print_record(&r[i]);
        }
    if ( rshadow_stats(&s) || s.dropped != 24 || s.records != 16 )
        xtf_failure("stats: %llu records, %llu dropped\n",
                    (unsigned long long)s.records,
                    (unsigned long long)s.dropped);

    /* The next record shows the gap in its sequence number. */
    page[0] = 7;
    nr = 1;
    lost = 99;
    if ( rshadow_read(r, &nr, &lost) || nr != 1 || r[0].seq != 40 || lost )
        xtf_failure("after the drops: seq %llu, lost %llu\n",
                    (unsigned long long)r[0].seq, (unsigned long long)lost);

    rshadow_disable();
    xtf_success(NULL);
}
