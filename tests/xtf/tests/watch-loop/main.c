/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-loop/main.c
 * @brief 100,000 watched accesses in a loop: every one emulated, counted
 *        and recorded; no slowdown over time; no memory kept by Xen.
 *
 * First, two watched writes with a shadow fault on an unrelated frame in
 * between must both be recorded (the draining below makes such faults).
 *
 * The guest writes a watched page 100,000 times, in blocks of 1,000, and
 * drains the trace after each block (outside the timed part):
 *  - each block's 1,000 records are there, in order, with consecutive
 *    sequence numbers and the values written; at the end the statistics
 *    count 100,000 watched faults, emulations and records, no drop, no
 *    error;
 *  - the cost per access, from rdtsc_ordered() around each block, of the
 *    last 10,000 accesses is not noticeably above that of the first
 *    10,000: the cheapest block of each ten is compared, and must stay
 *    under 1.5x.  A slowdown check, not a benchmark.  On QEMU the TSC is
 *    the host's clock, and a busy host slows a whole stretch of blocks, so
 *    each block also times as many `cpuid` exits, interleaved in tenths,
 *    as a yardstick: the test fails only if the accesses got 1.5x dearer
 *    both in cycles and measured in `cpuid` exits;
 *  - Xen's free pages are the same before enable and after the loop and
 *    disable.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/xenmem.h>

const char test_title[] = "100,000 watched accesses";

#define BLOCK   1000u
#define BLOCKS  100u
#define EDGE    10u             /* Blocks compared at each end. */

static volatile uint32_t page[PAGE_SIZE / 4] __page_bss;
static struct xen_rshadow_record recs[BLOCK];
#define SLICE   (BLOCK / 10)    /* Accesses between two yardstick runs. */
static uint64_t block_cycles[BLOCKS], ref_cycles[BLOCKS];

static uint64_t seq_next;           /* The sequence number due next. */
static unsigned int unrecorded, bad;

/*
 * Reads one block's records and checks them: in order, each the value
 * written, at its address, with consecutive sequence numbers.  Accesses
 * with no record are counted (and reported at the end), not fatal, so
 * that the rest of the test still runs.
 */
static void drain_block(unsigned int b)
{
    unsigned int nr = BLOCK, i, next = b * BLOCK;
    uint64_t lost = 0;

    if ( rshadow_read(recs, &nr, &lost) || lost )
    {
        xtf_failure("block %u: cannot read the trace (%llu lost)\n", b,
                    (unsigned long long)lost);
        return;
    }
    if ( b == 0 && nr )
        seq_next = recs[0].seq;
    for ( i = 0; i < nr; i++ )
    {
        const struct xen_rshadow_record *r = &recs[i];
        uint32_t n = r->value;

        if ( n < next || n >= (b + 1) * BLOCK ||
             r->seq != seq_next ||
             r->kind != XEN_RSHADOW_REC_WRITE || r->size != 4 ||
             r->linear != (unsigned long)&page[n % (PAGE_SIZE / 4)] )
        {
            if ( bad++ < 4 )
            {
                xtf_failure("block %u: record %u is not an access of it\n",
                            b, i);
                rshadow_print_record(r);
            }
            continue;
        }
        seq_next++;
        if ( n != next && unrecorded < 4 )
            printk("  %u access(es) from number %u have no record\n",
                   n - next, next);
        unrecorded += n - next;
        next = n + 1;
    }
    unrecorded += (b + 1) * BLOCK - next;
}

/* n / d without libgcc (32-bit builds have no 64-bit divide). */
static uint64_t div64(uint64_t n, uint64_t d)
{
    uint64_t q = 0, r = 0;
    int i;

    for ( i = 63; i >= 0; i-- )
    {
        r = (r << 1) | ((n >> i) & 1);
        if ( r >= d )
        {
            r -= d;
            q |= 1ull << i;
        }
    }
    return q;
}

/*
 * Two watched writes with a shadow fault on another frame in between (the
 * first touch of a page far from anything the kernel used): both are
 * recorded.  The loop below makes such faults too, reading its records.
 */
static void test_fault_between(void)
{
    static const unsigned long far[] = { 12u << 20, (12u << 20) + (1u << 18),
                                         (13u << 20) };
    unsigned int i, nr;

    for ( i = 0; i < ARRAY_SIZE(far); i++ )
    {
        page[0] = 0xf00 + i;
        (void)ACCESS_ONCE(*(const uint32_t *)far[i]);
        page[1] = 0xf10 + i;

        nr = ARRAY_SIZE(recs);
        if ( rshadow_read(recs, &nr, NULL) || nr != 2 ||
             recs[0].value != 0xf00 + i || recs[1].value != 0xf10 + i )
        {
            xtf_failure("a fault elsewhere between two watched writes: %u records\n",
                        nr);
            while ( nr-- )
                rshadow_print_record(&recs[nr]);
        }
    }
    if ( rshadow_reset() ||
         rshadow_watch(virt_to_gfn((const void *)page), 1,
                       XEN_RSHADOW_ACCESS_W, 0) )
        xtf_error("cannot set up the watch again\n");
}

static uint64_t min_of(const uint64_t *v, unsigned int n)
{
    uint64_t m = v[0];
    unsigned int i;

    for ( i = 1; i < n; i++ )
        if ( v[i] < m )
            m = v[i];
    return m;
}

static uint64_t sum_of(const uint64_t *v, unsigned int n)
{
    uint64_t s = 0;
    unsigned int i;

    for ( i = 0; i < n; i++ )
        s += v[i];
    return s;
}

void test_main(void)
{
    struct xen_rshadow_stats s;
    static uint64_t rel[BLOCKS];    /* Block cost, in thousandths of its yardstick. */
    uint64_t first, last, rel_first, rel_last;
    long free0, free1;
    unsigned int b, i;

    rshadow_require();

    free0 = xen_free_pages();
    if ( free0 < 0 )
        return xtf_error("cannot read Xen's free pages: %ld\n", free0);

    if ( rshadow_enable(2048) ||
         rshadow_watch(virt_to_gfn((const void *)page), 1,
                       XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot set up the watch\n");

    test_fault_between();

    for ( b = 0; b < BLOCKS; b++ )
    {
        uint64_t t0, t1, t2;
        uint32_t eax, ebx, ecx, edx;
        unsigned int j;

        for ( i = b * BLOCK; i < (b + 1) * BLOCK; )
        {
            t0 = rdtsc_ordered();
            for ( j = 0; j < SLICE; j++, i++ )
                page[i % (PAGE_SIZE / 4)] = i;
            t1 = rdtsc_ordered();
            for ( j = 0; j < SLICE; j++ )
                cpuid(0, &eax, &ebx, &ecx, &edx);
            t2 = rdtsc_ordered();
            block_cycles[b] += t1 - t0;
            ref_cycles[b] += t2 - t1;
        }

        drain_block(b);
    }

    if ( unrecorded )
        xtf_failure("%u of %u watched writes have no record\n", unrecorded,
                    BLOCKS * BLOCK);
    if ( rshadow_stats(&s) )
        xtf_error("cannot read the statistics\n");
    else if ( s.watched_faults != BLOCKS * BLOCK ||
              s.emulated != BLOCKS * BLOCK || s.records != BLOCKS * BLOCK ||
              s.dropped || s.errors )
        xtf_failure("stats: faults %llu emulated %llu records %llu dropped %llu errors %llu, expected %u\n",
                    (unsigned long long)s.watched_faults,
                    (unsigned long long)s.emulated,
                    (unsigned long long)s.records,
                    (unsigned long long)s.dropped,
                    (unsigned long long)s.errors, BLOCKS * BLOCK);
    printk("%u accesses, %llu on the fast path\n", BLOCKS * BLOCK,
           (unsigned long long)s.fast_faults);

    for ( b = 0; b < BLOCKS; b++ )
        rel[b] = div64(block_cycles[b] * 1000, ref_cycles[b] ?: 1);
    first = min_of(block_cycles, EDGE);
    last = min_of(block_cycles + BLOCKS - EDGE, EDGE);
    rel_first = min_of(rel, EDGE);
    rel_last = min_of(rel + BLOCKS - EDGE, EDGE);
    /* As many accesses as exits in a block: rel is a cost per access. */
    printk("per access, in thousandths of a cpuid exit: first %llu, last %llu\n",
           (unsigned long long)rel_first, (unsigned long long)rel_last);
    printk("cycles per access: first %llu, last %llu (cheapest block of %u); "
           "means %llu and %llu\n",
           (unsigned long long)div64(first, BLOCK),
           (unsigned long long)div64(last, BLOCK), EDGE,
           (unsigned long long)div64(sum_of(block_cycles, EDGE),
                                     EDGE * BLOCK),
           (unsigned long long)div64(sum_of(block_cycles + BLOCKS - EDGE,
                                            EDGE), EDGE * BLOCK));
    if ( !first || !rel_first ||
         (last * 2 >= first * 3 && rel_last * 2 >= rel_first * 3) )
        xtf_failure("the last accesses cost %llu cycles each, the first %llu: "
                    "a slowdown of 1.5x or more, in cpuid exits too\n",
                    (unsigned long long)div64(last, BLOCK),
                    (unsigned long long)div64(first, BLOCK));

    if ( rshadow_disable() )
        xtf_error("cannot disable rust-shadow\n");
    free1 = xen_free_pages_settle(free0);
    if ( free1 != free0 )
        xtf_failure("Xen's free pages: %ld before, %ld after\n", free0, free1);
    else
        printk("Xen's free pages: %ld before and after\n", free0);

    xtf_success(NULL);
}
