/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-race/main.c
 * @brief A watched fault comes back to its own watch, whatever another
 *        vCPU does to the table meanwhile.
 *
 * The fault path finds the watch under the paging lock, drops the lock
 * while the instruction is emulated, and takes it again to record the
 * access or, when no emulator could do it, to open that watch's frame for
 * a native run.  The debug build's rshadow-race-delay-ms holds that window
 * open for 500 ms.
 *
 * vCPU 0 runs an iret whose frame is on page A, watched for reads: the
 * one instruction neither of Xen 4.17's emulators does outside real mode,
 * so it runs natively, A's frame opened for one step.  While its fault is
 * held, vCPU 1 adds a watch on page B, whose frame is lower: B now sorts
 * before A in the table, and takes the index the fault found A at.
 * Afterwards there must be one error record for A, flagged as run
 * natively; and A and B must both still be on and still record (a run
 * that opened or switched off the watch at A's old index would have
 * taken B).
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <xtf/smp.h>
#include <arch/x86/asm.h>

#ifdef __x86_64__
# define CODE_SEL GDT_CS64
#else
# define CODE_SEL GDT_CS32
#endif

const char test_title[] = "A watch table change during a watched fault";

/* [0] is B, [1] is A: B's frame is the lower. */
static uint8_t pages[2][PAGE_SIZE] __page_bss;

static volatile bool go;
static volatile long added = -1;

/* vCPU 1: once vCPU 0 is about to fault, wait a little, then add B. */
static void add_b(unsigned int cpu, void *arg)
{
    uint32_t a, b, c, d;
    unsigned int i;

    while ( !go )
        asm volatile ("pause");
    /* Well inside the 500 ms: a few thousand exits to Xen. */
    for ( i = 0; i < 2000; i++ )
        cpuid(0, &a, &b, &c, &d);
    added = rshadow_watch(virt_to_gfn(pages[0]), 1, XEN_RSHADOW_ACCESS_W, 0);
}

static uint32_t flags_of(uint64_t gfn)
{
    struct xen_rshadow_watch w[2];
    unsigned int nr = ARRAY_SIZE(w), total, i;

    if ( rshadow_list(w, &nr, 0, &total) )
        return ~0u;
    for ( i = 0; i < nr; i++ )
        if ( w[i].first_gfn == gfn )
            return w[i].flags;
    return ~0u;
}

void test_main(void)
{
#ifdef __x86_64__
    static uint8_t stack[256] __aligned(16);
#endif
    unsigned long *frame = (unsigned long *)&pages[1][PAGE_SIZE - 64];
    struct xen_rshadow_record r[8];
    unsigned int nr = ARRAY_SIZE(r), i, errors = 0;
    unsigned long insn;
    uint32_t fa, fb;
    long rc;

    rshadow_require();
    if ( smp_nr_cpus() < 2 )
        return xtf_error("one vCPU only: the runner should give two\n");
    if ( virt_to_gfn(pages[0]) >= virt_to_gfn(pages[1]) )
        return xtf_error("page B's frame is not below A's\n");
    /* Return to iret_via_return with the same segments and flags. */
    frame[0] = (unsigned long)iret_via_return;
    frame[1] = CODE_SEL;
    asm volatile ("pushf; pop %0" : "=r" (frame[2]));
#ifdef __x86_64__
    frame[3] = (unsigned long)&stack[sizeof(stack)];
    frame[4] = GDT_DS;
#endif

    if ( rshadow_enable(64) ||
         rshadow_watch(virt_to_gfn(pages[1]), 1, XEN_RSHADOW_ACCESS_R, 0) )
        return xtf_error("cannot watch page A\n");

    rc = smp_call(1, add_b, NULL);
    if ( rc )
        return xtf_error("cannot start vCPU 1: %ld\n", rc);

    go = true;
    insn = iret_via(frame);
    /* vCPU 1's ADD returned while the fault was held, not after. */
    rc = added;
    smp_wait(1);
    if ( rc == -1 )
        return xtf_error("vCPU 1's ADD missed the held fault: the race "
                         "was not run\n");
    if ( added )
        return xtf_error("vCPU 1 could not add B: %ld\n", added);

    fa = flags_of(virt_to_gfn(pages[1]));
    fb = flags_of(virt_to_gfn(pages[0]));
    if ( rshadow_read(r, &nr, NULL) )
        return xtf_error("cannot read the trace\n");
    for ( i = 0; i < nr; i++ )
    {
        rshadow_print_record(&r[i]);
        if ( r[i].kind == XEN_RSHADOW_REC_ERROR && r[i].rip == insn &&
             r[i].gfn == virt_to_gfn(pages[1]) &&
             (r[i].flags & XEN_RSHADOW_REC_NATIVE) )
            errors++;
        else if ( r[i].kind == XEN_RSHADOW_REC_ERROR )
            return xtf_failure("an error record not for A's native run\n");
    }
    printk("  A flags %#x, B flags %#x, %u native runs for A\n",
           fa, fb, errors);
    if ( fa )
        return xtf_failure("A, which ran natively, was switched off (flags %#x)\n",
                           fa);
    if ( fb )
        return xtf_failure("B, added meanwhile, was switched off (flags %#x)\n",
                           fb);
    if ( errors != 1 )
        return xtf_failure("%u native error records for A, expected 1\n",
                           errors);

    /* A is hidden again: its next read is recorded. */
    (void)ACCESS_ONCE(pages[1][8]);
    nr = ARRAY_SIZE(r);
    if ( rshadow_read(r, &nr, NULL) || nr != 1 ||
         r[0].kind != XEN_RSHADOW_REC_READ ||
         r[0].gfn != virt_to_gfn(pages[1]) )
        return xtf_failure("A recorded %u records, not its read\n", nr);

    /* B still records. */
    pages[0][8] = 1;
    nr = ARRAY_SIZE(r);
    if ( rshadow_read(r, &nr, NULL) || nr != 1 ||
         r[0].kind != XEN_RSHADOW_REC_WRITE ||
         r[0].gfn != virt_to_gfn(pages[0]) )
        return xtf_failure("B recorded %u records, not its write\n", nr);

    rshadow_disable();
    xtf_success(NULL);
}
