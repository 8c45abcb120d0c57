/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/bench/main.c
 * @brief Costs in emulated cycles, for `make bench`.
 *
 * Each measurement times `iters` iterations (the iters=N kernel argument,
 * default 1000) with the TSC, which in the emulators counts executed
 * instructions (QEMU -icount, Bochs clock sync=none), so the numbers are
 * repeatable.  Prints one line per measurement:
 *
 *   bench: <name> iters=<n> cycles=<total> min=<least of one iteration>
 *
 *  - loop:        the empty measuring loop, subtracted from the others;
 *  - cpuid:       a CPUID exit;
 *  - ptwrite:     an unwatched, emulated page-table write (the guest
 *                 rewrites an L2 entry of its own), rust-shadow off;
 *  - ptwrite-on:  the same with rust-shadow on and a watch elsewhere, so
 *                 every fault takes the watched check;
 *  - access:      a write to a watched page, recorded, no steps;
 *  - nops:        the 64 nops the step measurements run after each access;
 *  - step1/8/64:  the write and 64 nops, with 1, 8 or 64 of them stepped.
 * Without rust-shadow (stock Xen) only loop, cpuid and ptwrite are run.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "rust-shadow benchmarks";

uint32_t bench_page[PAGE_SIZE / 4] __page_bss;

#define FAR_GFN 0x3000
#define NOPS ".rept 64; nop; .endr"

static unsigned long iters;

/*
 * Each iteration is timed on its own: the least is the path's own cost, as
 * interrupts and timers only ever add to an iteration; the total gives the
 * mean, which includes them.
 */
#define MEASURE(name, body) do {                                        \
    unsigned long i_;                                                   \
    uint64_t t0_, dt_, min_ = ~0ull, sum_ = 0;                          \
                                                                        \
    for ( i_ = 0; i_ < 4; i_++ ) /* warm up */                          \
        body;                                                           \
    for ( i_ = 0; i_ < iters; i_++ )                                    \
    {                                                                   \
        t0_ = rdtsc_ordered();                                          \
        body;                                                           \
        dt_ = rdtsc_ordered() - t0_;                                    \
        sum_ += dt_;                                                    \
        if ( dt_ < min_ )                                               \
            min_ = dt_;                                                 \
    }                                                                   \
    printk("bench: %s iters=%lu cycles=%llu min=%llu\n", name, iters,   \
           (unsigned long long)sum_, (unsigned long long)min_);         \
} while ( 0 )

static void drain(void)
{
    static struct xen_rshadow_record r[256];
    unsigned int nr;

    do {
        nr = ARRAY_SIZE(r);
    } while ( !rshadow_read(r, &nr, NULL) && nr );
}

/*
 * An L2 entry: Xen write-protects upper-level tables always (L1 tables may
 * go out of sync and stop faulting), so each write is emulated.
 */
static void ptwrite(const char *name)
{
    volatile intpte_t *pte = &l2_identmap[1];
    intpte_t val = *pte;

    MEASURE(name, *pte = val);
}

static void watched(const char *name, unsigned int steps)
{
    volatile uint32_t *p = bench_page;

    rshadow_unwatch(virt_to_gfn(bench_page), 1);
    if ( rshadow_watch(virt_to_gfn(bench_page), 1, XEN_RSHADOW_ACCESS_W,
                       steps) )
    {
        xtf_error("cannot watch with %u steps\n", steps);
        return;
    }
    drain();
    if ( steps == ~0u )
        return;
    MEASURE(name, asm volatile ("movl $1, %0\n\t" NOPS : "=m" (*p)));
    drain();
}

void test_main(void)
{
    uint32_t a, b, c, d;
    volatile uint32_t *p = bench_page;

    iters = xtf_cmdline_ulong("iters", 1000);
    printk("bench: iterations %lu\n", iters);

    MEASURE("loop", barrier());
    MEASURE("cpuid", cpuid(0, &a, &b, &c, &d));
    ptwrite("ptwrite");

    if ( !rshadow_available() )
    {
        printk("bench: rust-shadow unavailable (stock Xen)\n");
        return xtf_success(NULL);
    }

    /* Records per iteration: at most 1 + 64.  The ring must hold them. */
    if ( iters * 65 > XEN_RSHADOW_RING_MAX ||
         rshadow_enable(XEN_RSHADOW_RING_MAX) ||
         rshadow_watch(FAR_GFN, 1, XEN_RSHADOW_ACCESS_R, 0) )
        return xtf_error("cannot enable rust-shadow for %lu iterations\n", iters);

    ptwrite("ptwrite-on");

    rshadow_unwatch(virt_to_gfn(bench_page), 1);
    MEASURE("nops", asm volatile ("movl $1, %0\n\t" NOPS : "=m" (*p)));
    watched("access", 0);
    watched("step1", 1);
    watched("step8", 8);
    watched("step64", 64);

    rshadow_disable();
    xtf_success(NULL);
}
