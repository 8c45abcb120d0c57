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
 *  - nops:        a write and 64 nops, unwatched: what the guest runs for
 *                 each of the following, natively;
 *  - access:      the same with the page watched: the write recorded, no
 *                 steps;
 *  - access-vtlb: the same, the page in the vTLB slot of the code (below);
 *  - step1/8/64:  the same with 1, 8 or 64 of the nops stepped.
 * Without rust-shadow (stock Xen) only loop, cpuid and ptwrite are run.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "rust-shadow benchmarks";

/*
 * Xen's shadow code caches guest translations in a vTLB of 13 entries,
 * indexed by page number modulo 13 (VTLB_ENTRIES in its shadow/private.h).
 * An emulation translates both the instruction's page and the data's: if
 * they share a slot, each evicts the other and costs a guest walk.  The
 * watched page is picked in a slot of its own (the usual case); access-vtlb
 * measures one that shares the code's.
 */
#define VTLB_ENTRIES 13
static uint32_t watch_pages[VTLB_ENTRIES][PAGE_SIZE / 4] __page_bss;

#define FAR_GFN 0x3000
#define NOPS ".rept 64; nop; .endr"

static unsigned long iters;

static unsigned int vtlb_slot(const void *p)
{
    return virt_to_gfn(p) % VTLB_ENTRIES;
}

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

/*
 * A control operation's worst case: the most of CTL_REPS runs, and the
 * hypercalls it took: `hcalls` (1 unless the body counts its own), plus
 * the continuations Xen counted.
 */
#define CTL_REPS 3
static unsigned long hcalls;
#define MEASURE_CTL(name, setup, body, undo) do {                        \
    unsigned long r_;                                                   \
    uint64_t t0_, dt_, max_ = 0, c0_, calls_ = 1;                       \
                                                                        \
    for ( r_ = 0; r_ < CTL_REPS; r_++ )                                 \
    {                                                                   \
        setup;                                                          \
        c0_ = continuations();                                          \
        hcalls = 1;                                                     \
        t0_ = rdtsc_ordered();                                          \
        body;                                                           \
        dt_ = rdtsc_ordered() - t0_;                                    \
        if ( continuations() >= c0_ )                                   \
            calls_ = hcalls + continuations() - c0_;                    \
        if ( dt_ > max_ )                                               \
            max_ = dt_;                                                 \
        undo;                                                           \
    }                                                                   \
    printk("bench-ctl: %s reps=%u max=%llu calls=%llu\n", name,         \
           CTL_REPS, (unsigned long long)max_,                          \
           (unsigned long long)calls_);                                 \
} while ( 0 )

static uint64_t continuations(void)
{
    struct xen_rshadow_stats s;

    return rshadow_stats(&s) ? 0 : s.continuations;
}

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
static void __attribute__((noinline)) ptwrite(const char *name)
{
    volatile intpte_t *pte = &l2_identmap[1];
    intpte_t val = *pte;

    if ( vtlb_slot(l2_identmap) == vtlb_slot(ptwrite) )
        printk("bench: warning: ptwrite's code shares the vTLB slot of its data\n");

    MEASURE(name, *pte = val);
}

/*
 * The watched write and the 64 instructions after it: under 128 bytes,
 * aligned to 128, so on one code page.
 */
static void __attribute__((noinline, aligned(128)))
write_and_nops(volatile uint32_t *p)
{
    asm volatile ("movl $1, %0\n\t" NOPS : "=m" (*p));
}

/* A page whose vTLB slot is, or is not, that of write_and_nops(). */
static volatile uint32_t *watch_page(bool share)
{
    unsigned int i, code = vtlb_slot(write_and_nops);

    for ( i = 0; i < VTLB_ENTRIES; i++ )
        if ( (vtlb_slot(watch_pages[i]) == code) == share )
            break;
    return watch_pages[i % VTLB_ENTRIES];
}

static void watched(const char *name, unsigned int steps, bool share)
{
    volatile uint32_t *p = watch_page(share);
    unsigned long gfn = virt_to_gfn((const void *)p);

    if ( rshadow_watch(gfn, 1, XEN_RSHADOW_ACCESS_W, steps) )
    {
        xtf_error("cannot watch with %u steps\n", steps);
        return;
    }
    drain();
    MEASURE(name, write_and_nops(p));
    rshadow_unwatch(gfn, 1);
    drain();
}

/* Frames of dom0's RAM (128 MiB), above the kernel: the largest range. */
#define CTL_FIRST  0x1000UL
#define CTL_FRAMES 0x6000UL

/*
 * The control operations at their largest here: ENABLE of the biggest
 * ring, ADD and REMOVE of 24,576 frames (6 calls of RAM checks, shadows
 * dropped) and of 64 (revoked one frame at a time), READ_TRACE of 8,192
 * records, RESET of 1,000 ranges, DISABLE.
 */
static void control_ops(void)
{
    static struct xen_rshadow_record recs[1024];
    unsigned int nr, i;

    MEASURE_CTL("enable", , rshadow_enable(XEN_RSHADOW_RING_MAX),
                rshadow_disable());
    MEASURE_CTL("disable", rshadow_enable(XEN_RSHADOW_RING_MAX),
                rshadow_disable(), );

    rshadow_enable(XEN_RSHADOW_RING_MAX);
    MEASURE_CTL("add", ,
                rshadow_watch(CTL_FIRST, CTL_FRAMES, XEN_RSHADOW_ACCESS_W, 0),
                rshadow_unwatch(CTL_FIRST, CTL_FRAMES));
    MEASURE_CTL("remove",
                rshadow_watch(CTL_FIRST, CTL_FRAMES, XEN_RSHADOW_ACCESS_W, 0),
                rshadow_unwatch(CTL_FIRST, CTL_FRAMES), );
    MEASURE_CTL("add-64", ,
                rshadow_watch(CTL_FIRST, 64, XEN_RSHADOW_ACCESS_W, 0),
                rshadow_unwatch(CTL_FIRST, 64));
    MEASURE_CTL("remove-64",
                rshadow_watch(CTL_FIRST, 64, XEN_RSHADOW_ACCESS_W, 0),
                rshadow_unwatch(CTL_FIRST, 64), );
    MEASURE_CTL("reset-1000",
                for ( i = 0; i < 1000; i++ )
                    rshadow_watch(CTL_FIRST + 2 * i, 1, XEN_RSHADOW_ACCESS_W, 0),
                rshadow_reset(), );

    /* 8,192 records (an eighth of the biggest ring), 1,024 per call. */
    rshadow_watch(virt_to_gfn(watch_pages[0]), 1, XEN_RSHADOW_ACCESS_W, 0);
    MEASURE_CTL("read-trace-8192",
                for ( i = 0; i < 8192; i++ )
                    ACCESS_ONCE(watch_pages[0][0]) = i,
                hcalls = 0;
                do {
                    nr = ARRAY_SIZE(recs);
                    hcalls++;
                } while ( !rshadow_read(recs, &nr, NULL) && nr ), );
    rshadow_disable();
}

void test_main(void)
{
    uint32_t a, b, c, d;

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

    MEASURE("nops", write_and_nops(watch_page(false)));
    watched("access", 0, false);
    watched("access-vtlb", 0, true);
    watched("step1", 1, false);
    watched("step8", 8, false);
    watched("step64", 64, false);

    /*
     * The same with a reader's NOTIFY channel open: after each record the
     * vCPU checks its ring against the threshold and arms Xen's timer
     * (once per latency, 10 ms).  Nobody binds the channel here, so the
     * timer signals nothing; the vCPU's side is what is measured.
     */
    {
        struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_NOTIFY };

        if ( rshadow_op(&op) )
            return xtf_error("NOTIFY failed\n");
    }
    watched("access-notify", 0, false);
    watched("step8-notify", 8, false);

    rshadow_disable();
    control_ops();
    xtf_success(NULL);
}
