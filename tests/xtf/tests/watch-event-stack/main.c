/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-event-stack/main.c
 * @brief The stack on a watched page while the CPU delivers an exception
 *        onto it: the handler runs once with a correct frame, and the
 *        records say exactly what the code defines.
 *
 * The guest switches to a stack in the middle of a page of its own, then
 * raises #UD, #PF or int3 there.  The CPU pushes the exception frame onto
 * the watched page during delivery:
 *  - for #UD and #PF, the event is pending re-injection when the push
 *    faults, and nothing can emulate delivery: sh_page_fault() abandons
 *    the access with XEN_RSHADOW_ERR_EVENT;
 *  - int3 is re-executed rather than re-injected, so Xen emulates it and
 *    x86_emulate() returns a software event the shadow tail does not
 *    inject: XEN_RSHADOW_ERR_UNHANDLEABLE.
 * Either way the delivery runs natively, the stack's frame opened to the
 * vCPU for one step.  Each time: an error record on the stack's frame
 * flagged XEN_RSHADOW_REC_NATIVE first, then only the window's steps and
 * the handler's own accesses to the watched stack (recorded: the watch
 * stays on, listed so), the handler run exactly once, and the frame the
 * CPU left on the watched page (return address, %cs, flags) correct.
 * Watches for writes, reads, and both are tried.  Before that, ordinary
 * pushes and pops on the watched stack are emulated and recorded, so the
 * watch is live when the event comes.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <arch/x86/asm.h>

const char test_title[] = "Exception delivery onto a watched stack";

#ifdef __x86_64__
# define CODE_SEL GDT_CS64
# define SP "%%rsp"
/* SS, RSP, RFLAGS, CS, RIP: the frame always has five words. */
# define FRAME_WORDS 5
#else
# define CODE_SEL GDT_CS32
# define SP "%%esp"
/* EFLAGS, CS, EIP: same privilege, no stack switch. */
# define FRAME_WORDS 3
#endif

static unsigned long stack_page[PAGE_SIZE / sizeof(unsigned long)] __page_bss;
unsigned long saved_sp;   /* Used from asm only. */

/* The middle of the page, 16-byte aligned: the frame stays on it. */
#define STACK_TOP ((unsigned long)&stack_page[ARRAY_SIZE(stack_page) / 2])

static struct xen_rshadow_record recs[512];
static unsigned int nr;

static unsigned long stack_gfn(void)
{
    return virt_to_gfn(stack_page);
}

static void watch_stack(unsigned int access)
{
    rshadow_watch_only(stack_gfn(), access, 0, "the stack page");
}

static uint32_t watch_flags(void)
{
    return rshadow_watch_flags(stack_gfn());
}

/* What the handler saw of its frame. */
static volatile unsigned long seen_sp, seen_ip, seen_cs;

static bool note_frame(struct cpu_regs *regs)
{
    seen_sp = (unsigned long)(regs + 1);    /* Just above the hardware frame. */
    seen_ip = regs->ip;
    seen_cs = regs->cs;
    return false;           /* Then the exception table or the hook below. */
}

static bool bp_hook(struct cpu_regs *regs)
{
    note_frame(regs);
    return true;
}

static bool ud_hook(struct cpu_regs *regs)
{
    return note_frame(regs);
}

/* Each event on the watched stack; returns the faulting instruction. */
static unsigned long on_stack_ud2(unsigned long *resume)
{
    unsigned long insn;

    asm volatile ("mov " SP ", saved_sp\n\t"
                  "mov %[top], " SP "\n"
                  "1: ud2\n"
                  "2: mov saved_sp, " SP "\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[resume]"
                  : [insn] "=r" (insn), [resume] "=r" (*resume)
                  : [top] "r" (STACK_TOP) : "memory");
    return insn;
}

static unsigned long on_stack_pf(unsigned long *resume)
{
    unsigned long insn;

    asm volatile ("mov " SP ", saved_sp\n\t"
                  "mov %[top], " SP "\n"
                  "1: mov 0x10, %%eax\n"
                  "2: mov saved_sp, " SP "\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[resume]"
                  : [insn] "=r" (insn), [resume] "=r" (*resume)
                  : [top] "r" (STACK_TOP) : "eax", "memory");
    return insn;
}

static unsigned long on_stack_int3(unsigned long *resume)
{
    unsigned long insn;

    asm volatile ("mov " SP ", saved_sp\n\t"
                  "mov %[top], " SP "\n"
                  "1: int3\n"
                  "2: mov saved_sp, " SP "\n\t"
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[resume]"
                  : [insn] "=r" (insn), [resume] "=r" (*resume)
                  : [top] "r" (STACK_TOP) : "memory");
    return insn;
}

static const struct {
    const char *name;
    unsigned int vec;
    unsigned long (*fn)(unsigned long *resume);
    bool trap;                  /* Frame holds the next instruction. */
    unsigned int reason;
} events[] = {
    { "#UD", X86_EXC_UD, on_stack_ud2, false, XEN_RSHADOW_ERR_EVENT },
    { "#PF", X86_EXC_PF, on_stack_pf, false, XEN_RSHADOW_ERR_EVENT },
    { "int3", X86_EXC_BP, on_stack_int3, true, XEN_RSHADOW_ERR_UNHANDLEABLE },
};

static void one_event(unsigned int access, unsigned int i)
{
    const char *what = events[i].name;
    unsigned long before = exc_count[events[i].vec], insn, resume, expect_ip;
    unsigned long frame = STACK_TOP - FRAME_WORDS * sizeof(unsigned long);
    const unsigned long *f = (const unsigned long *)frame;
    struct xen_rshadow_stats s;
    const struct xen_rshadow_record *r = &recs[0];
    unsigned int j;

    watch_stack(access);
    seen_sp = seen_ip = seen_cs = 0;
    insn = events[i].fn(&resume);
    expect_ip = events[i].trap ? resume : insn;

    if ( exc_count[events[i].vec] != before + 1 )
        xtf_failure("%s: the handler ran %lu times\n", what,
                    exc_count[events[i].vec] - before);
    if ( seen_ip != expect_ip || seen_cs != CODE_SEL || seen_sp != STACK_TOP )
        xtf_failure("%s: handler saw ip %#lx cs %#lx frame end %#lx, expected %#lx %#x %#lx\n",
                    what, seen_ip, seen_cs, seen_sp, expect_ip, CODE_SEL,
                    STACK_TOP);
    /*
     * The frame the CPU wrote onto the watched page (the exception table
     * fixup has since pointed its return address at the resume label).
     */
    if ( f[0] != resume || f[1] != CODE_SEL ||
         !(f[2] & X86_EFLAGS_MBS) || (f[2] & X86_EFLAGS_TF)
#ifdef __x86_64__
         || f[3] != STACK_TOP || f[4] != GDT_DS
#endif
        )
        xtf_failure("%s: frame on the watched stack %#lx %#lx %#lx\n", what,
                    f[0], f[1], f[2]);

    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( nr < 1 || r->kind != XEN_RSHADOW_REC_ERROR ||
         r->extra != events[i].reason || !(r->flags & XEN_RSHADOW_REC_NATIVE) ||
         r->rip != insn || r->gfn != stack_gfn() ||
         r->linear < frame - 2 * sizeof(long) || r->linear >= STACK_TOP )
    {
        xtf_failure("%s: expected a native error record (reason %u, rip %#lx) first, got %u records\n",
                    what, events[i].reason, insn, nr);
        rshadow_dump(recs, nr);
    }
    /*
     * Then the window's steps, and the handler's accesses to the stack it
     * runs on, which is the watched page: recorded as usual, but for its
     * iretq, which no emulator does in long mode, so it runs natively too.
     */
    for ( j = 1; j < nr; j++ )
        if ( recs[j].kind == XEN_RSHADOW_REC_ERROR &&
             !(recs[j].flags & XEN_RSHADOW_REC_NATIVE) )
        {
            xtf_failure("%s: record %u is an error, not run natively\n",
                        what, j);
            rshadow_dump(recs, nr);
            break;
        }
    if ( watch_flags() != 0 )
        xtf_failure("%s: watch flags %#x, expected it on\n", what,
                    watch_flags());
    if ( rshadow_stats(&s) || !s.errors || s.dropped != 0 || s.records != nr )
        xtf_failure("%s: stats errors %llu dropped %llu, expected some and 0\n",
                    what, (unsigned long long)s.errors,
                    (unsigned long long)s.dropped);
}

/* push/pop on the watched stack: emulated and recorded as usual. */
static void test_push_pop(void)
{
    unsigned long out = 0, insn;
    struct xen_rshadow_stats s;

    watch_stack(XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W);
    asm volatile ("mov " SP ", saved_sp\n\t"
                  "mov %[top], " SP "\n"
                  "1: push %[v]\n\t"
                  "pop %[out]\n\t"
                  "mov saved_sp, " SP "\n\t"
                  "mov $1b, %[insn]"
                  : [out] "=&r" (out), [insn] "=&r" (insn)
                  : [top] "r" (STACK_TOP), [v] "r" (0x5a5aul) : "memory");
    nr = rshadow_read_all(recs, ARRAY_SIZE(recs));
    if ( out != 0x5a5a || nr != 2 || recs[0].kind != XEN_RSHADOW_REC_WRITE ||
         recs[0].rip != insn || recs[0].value != 0x5a5a ||
         recs[0].linear != STACK_TOP - sizeof(long) ||
         recs[1].kind != XEN_RSHADOW_REC_READ || recs[1].value != 0x5a5a ||
         recs[1].linear != STACK_TOP - sizeof(long) )
    {
        xtf_failure("push/pop on the watched stack: got %#lx, %u records\n",
                    out, nr);
        rshadow_dump(recs, nr);
    }
    if ( rshadow_stats(&s) || s.emulated != 2 || s.errors )
        xtf_failure("push/pop: %llu emulated, %llu errors\n",
                    (unsigned long long)s.emulated,
                    (unsigned long long)s.errors);
}

void test_main(void)
{
    static const unsigned int access[] = {
        XEN_RSHADOW_ACCESS_W, XEN_RSHADOW_ACCESS_R,
        XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W,
    };
    unsigned int a, i;

    rshadow_require();
    if ( rshadow_enable(512) )
        return xtf_error("cannot enable rust-shadow\n");

    set_trap_hook(X86_EXC_BP, bp_hook);
    set_trap_hook(X86_EXC_UD, ud_hook);
    set_trap_hook(X86_EXC_PF, ud_hook);

    test_push_pop();
    for ( a = 0; a < ARRAY_SIZE(access); a++ )
    {
        printk("stack watched %#x\n", access[a]);
        for ( i = 0; i < ARRAY_SIZE(events); i++ )
            one_event(access[a], i);
    }

    rshadow_disable();
    xtf_success(NULL);
}
