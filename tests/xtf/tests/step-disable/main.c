/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-disable/main.c
 * @brief DISABLE, and RESET, issued from inside an open stepping window:
 *        the window ends with them, and the guest goes on natively.
 *
 * A watched write with the largest step budget (4096) opens a window; the
 * guest's very next hypercall is DISABLE (or RESET), so the domctl runs
 * while its instructions are being stepped (a GET_STATS made just before,
 * also inside the window, shows steps being recorded).  Afterwards:
 *  - the guest continues normally: no #DB reaches it, and neither `pushf`
 *    nor the frame of an int3 shows TF (on SVM the window steps with a TF
 *    hidden from the guest, which must not outlive it);
 *  - nothing more is recorded: after RESET the statistics and the trace
 *    stay empty while the guest runs on; after DISABLE, a new ENABLE
 *    starts from nothing;
 *  - a later watched access steps exactly its own budget.
 * Stepping needs MTF (VMX) or SVM; where it is unavailable (a watch with
 * steps gets EOPNOTSUPP) the test skips.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Disable and reset inside a stepping window";

static volatile uint32_t page[PAGE_SIZE / 4] __page_bss;

static struct xen_rshadow_record recs[64];
static unsigned int nr;

static unsigned long page_gfn(void)
{
    return virt_to_gfn((const void *)page);
}

static void read_trace(void)
{
    nr = ARRAY_SIZE(recs);
    if ( rshadow_read(recs, &nr, NULL) )
        nr = 0;
}

static volatile unsigned long bp_flags;

static bool bp_hook(struct cpu_regs *regs)
{
    bp_flags = regs->flags;
    return true;
}

/* Some ordinary work after the window should have closed. */
static unsigned long busy(void)
{
    unsigned long x = 0, i;

    for ( i = 0; i < 200; i++ )
        asm volatile ("add %1, %0" : "+r" (x) : "r" (i));
    return x;
}

/* The guest saw nothing of the stepping: no #DB, no TF. */
static void check_invisible(const char *what, unsigned long dbs)
{
    unsigned long flags = read_flags();

    if ( busy() != 199 * 200 / 2 )
        xtf_failure("%s: the guest computed wrongly afterwards\n", what);
    bp_flags = 0;
    asm volatile ("int3" ::: "memory");
    if ( exc_count[X86_EXC_DB] != dbs )
        xtf_failure("%s: the guest took %lu #DB(s)\n", what,
                    exc_count[X86_EXC_DB] - dbs);
    if ( (flags | bp_flags) & X86_EFLAGS_TF )
        xtf_failure("%s: TF leaked: pushf %#lx, int3 frame %#lx\n", what,
                    flags, bp_flags);
    if ( !(bp_flags & X86_EFLAGS_MBS) )
        xtf_failure("%s: int3 was not delivered\n", what);
}

/* A watched write opening a full window, then stats from inside it. */
static bool open_window(const char *what, uint32_t v)
{
    struct xen_rshadow_stats s = {};
    long rc;

    page[0] = v;
    rc = rshadow_stats(&s);
    if ( rc || s.records < 1 || s.steps == 0 )
    {
        xtf_failure("%s: no window open (rc %ld, %llu records, %llu steps)\n",
                    what, rc, (unsigned long long)s.records,
                    (unsigned long long)s.steps);
        return false;
    }
    return true;
}

static void test_disable(void)
{
    unsigned long dbs = exc_count[X86_EXC_DB];
    struct xen_rshadow_stats s;
    long rc;

    if ( rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W,
                       XEN_RSHADOW_MAX_STEPS) )
        return xtf_error("cannot watch with %u steps\n", XEN_RSHADOW_MAX_STEPS);

    if ( !open_window("disable", 1) )
        return;
    rc = rshadow_disable();
    if ( rc )
        return xtf_failure("disable inside the window: %ld\n", rc);
    check_invisible("disable", dbs);

    /* A new enable starts from nothing, and stays empty. */
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable again\n");
    page[1] = 2;
    busy();
    read_trace();
    if ( rshadow_stats(&s) || nr || s.records || s.steps || s.watched_faults )
        xtf_failure("after disable: %u records, stats %llu records %llu steps\n",
                    nr, (unsigned long long)s.records,
                    (unsigned long long)s.steps);
}

static void test_reset(void)
{
    unsigned long dbs = exc_count[X86_EXC_DB];
    struct xen_rshadow_stats s;
    unsigned int i;
    long rc;

    if ( rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W,
                       XEN_RSHADOW_MAX_STEPS) )
        return xtf_error("cannot watch with %u steps\n", XEN_RSHADOW_MAX_STEPS);

    if ( !open_window("reset", 3) )
        return;
    rc = rshadow_reset();
    busy();
    /* Everything since the reset: nothing may have been recorded. */
    read_trace();
    if ( rc )
        return xtf_failure("reset inside the window: %ld\n", rc);
    if ( rshadow_stats(&s) || nr || s.records || s.steps || s.dropped ||
         s.watches )
    {
        xtf_failure("after reset: %u records, stats %llu records %llu steps %llu dropped %llu watches\n",
                    nr, (unsigned long long)s.records,
                    (unsigned long long)s.steps,
                    (unsigned long long)s.dropped,
                    (unsigned long long)s.watches);
        for ( i = 0; i < nr && i < 4; i++ )
            rshadow_print_record(&recs[i]);
    }
    check_invisible("reset", dbs);
}

/* A window opened afterwards has exactly its own budget. */
static void test_after(void)
{
    struct xen_rshadow_stats s;
    unsigned int i;

    if ( rshadow_reset() ||
         rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W, 4) )
        return xtf_error("cannot watch with 4 steps\n");
    page[2] = 4;
    asm volatile ("nop; nop; nop; nop; nop; nop" ::: "memory");
    read_trace();
    if ( nr != 5 || recs[0].kind != XEN_RSHADOW_REC_WRITE ||
         rshadow_stats(&s) || s.steps != 4 )
    {
        xtf_failure("a later window: %u records, expected the write and 4 steps\n",
                    nr);
        for ( i = 0; i < nr && i < 8; i++ )
            rshadow_print_record(&recs[i]);
    }
    for ( i = 1; i < nr && i < 5; i++ )
        if ( recs[i].kind != XEN_RSHADOW_REC_STEP || recs[i].extra != i - 1 )
        {
            xtf_failure("record %u is not step %u\n", i, i - 1);
            rshadow_print_record(&recs[i]);
        }
}

void test_main(void)
{
    long rc;

    rshadow_require();
    set_trap_hook(X86_EXC_BP, bp_hook);

    if ( rshadow_enable(4096) )
        return xtf_error("cannot enable rust-shadow\n");
    rc = rshadow_watch(page_gfn(), 1, XEN_RSHADOW_ACCESS_W, 1);
    if ( rc == -EOPNOTSUPP )
        return xtf_skip("no stepping on this CPU (neither MTF nor SVM)\n");
    if ( rc || rshadow_unwatch(page_gfn(), 1) )
        return xtf_error("cannot watch with steps: %ld\n", rc);

    test_disable();
    test_reset();
    test_after();

    rshadow_disable();
    xtf_success(NULL);
}
