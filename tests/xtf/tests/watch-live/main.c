/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-live/main.c
 * @brief Watches added and removed while the guest keeps using the page.
 *
 * The guest keeps a running sum in a page while the watch on it comes and
 * goes, with every access kind.  The data must never be disturbed, and
 * exactly the accesses made while the page was watched (for that kind)
 * are recorded.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Watches added and removed while in use";

static volatile uint32_t page[PAGE_SIZE / 4] __page_bss;

#define ROUNDS 40

static unsigned int count_records(void)
{
    static struct xen_rshadow_record r[32];
    unsigned int nr = ARRAY_SIZE(r), total = 0;

    while ( !rshadow_read(r, &nr, NULL) && nr )
    {
        total += nr;
        nr = ARRAY_SIZE(r);
    }
    return total;
}

void test_main(void)
{
    static const unsigned int kinds[] = {
        XEN_RSHADOW_ACCESS_R, XEN_RSHADOW_ACCESS_W,
        XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W,
    };
    unsigned long gfn = virt_to_gfn((const void *)page);
    uint32_t sum = 0, expect = 0;
    unsigned int i, want = 0, got;

    rshadow_require();
    if ( rshadow_enable(256) )
        return xtf_error("cannot enable rust-shadow\n");

    for ( i = 0; i < ROUNDS; i++ )
    {
        unsigned int kind = kinds[i % ARRAY_SIZE(kinds)];

        /* Unwatched: nothing recorded. */
        page[i] = i;
        sum += page[i];
        expect += i;

        if ( rshadow_watch(gfn, 1, kind, 0) )
            return xtf_failure("round %u: watch failed\n", i);

        /* One write, one read while watched. */
        page[i + 100] = i * 3;
        sum += page[i + 100];
        expect += i * 3;
        want += !!(kind & XEN_RSHADOW_ACCESS_W) + !!(kind & XEN_RSHADOW_ACCESS_R);

        if ( rshadow_unwatch(gfn, 1) )
            return xtf_failure("round %u: unwatch failed\n", i);

        sum += page[i];
        expect += i;
    }

    if ( sum != expect )
        xtf_failure("the data was disturbed: sum %u, expected %u\n", sum, expect);
    got = count_records();
    if ( got != want )
        xtf_failure("%u records, expected %u\n", got, want);

    rshadow_disable();
    xtf_success(NULL);
}
