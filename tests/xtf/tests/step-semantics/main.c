/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-semantics/main.c
 * @brief What a step is, case by case: the same on VMX (Monitor Trap Flag)
 *        and SVM (TF, hidden from the guest).
 *
 * Each case writes to a watched page (the access opens a stepping window)
 * and then runs the instructions under test:
 *  - a faulting instruction: one step record, whose next RIP is the
 *    guest's #PF handler, which then runs as native;
 *  - `rep movsb`: one step per iteration;
 *  - `cpuid` and port I/O, which exit to Xen: exactly one step each;
 *  - `pushf` in the window: the guest's own TF (clear);
 *  - the guest's own TF and a DR0 data breakpoint across the window: the
 *    guest gets exactly the #DBs it gets unwatched;
 *  - a second watched access in the window restarts it.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Step semantics";

uint32_t sem_page[PAGE_SIZE / 4] __page_bss;
static uint8_t src[8], dst[8];
/*
 * The DR0 breakpoint's page, to itself: bp_page[0] is the target, and a
 * write to bp_page[1] resets the platform's memory of the last hit before
 * each run.  QEMU's TCG keeps a data breakpoint marked as hit until the
 * next write to its page that misses it, and reports a kept hit as DR6.B0
 * in every single-step #DB until then: without the reset, the second of
 * two identical unwatched runs differs from the first (B0 in each step).
 * Hardware reports only the breakpoints an instruction hit; there the
 * write changes nothing.
 */
static volatile unsigned long bp_page[PAGE_SIZE / sizeof(unsigned long)]
    __page_bss;
#define bp_target bp_page[0]

#ifdef __x86_64__
# define DX "%%rdx"
# define SFX "q"
# define SP "%%rsp"
#else
# define DX "%%edx"
# define SFX "l"
# define SP "%%esp"
#endif

static struct xen_rshadow_record r[32];
static unsigned int nr;

static void watch(unsigned int steps)
{
    rshadow_unwatch(virt_to_gfn(sem_page), 1);
    if ( rshadow_watch(virt_to_gfn(sem_page), 1, XEN_RSHADOW_ACCESS_W, steps) )
    {
        xtf_error("cannot watch with %u steps\n", steps);
        xtf_exit();
    }
}

static void read_trace(void)
{
    nr = ARRAY_SIZE(r);
    if ( rshadow_read(r, &nr, NULL) )
        nr = 0;
}

static bool is_step(unsigned int i, unsigned long rip, unsigned long next)
{
    return i < nr && r[i].kind == XEN_RSHADOW_REC_STEP && r[i].rip == rip &&
           r[i].linear == next;
}

static void dump(const char *what)
{
    unsigned int i;

    xtf_failure("%s: unexpected trace (%u records)\n", what, nr);
    for ( i = 0; i < nr; i++ )
        rshadow_print_record(&r[i]);
}

extern const uint8_t exc_stubs[];

static void test_fault(void)
{
    unsigned long insn, after, pfs = exc_count[X86_EXC_PF];

    watch(1);
    asm volatile ("movl $1, (" DX ")\n"
                  "1: mov 0x10, %%eax\n"        /* #PF: frame 0 is unmapped */
                  "2:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[after]"
                  : [insn] "=r" (insn), [after] "=r" (after)
                  : "d" (sem_page) : "eax", "memory");
    read_trace();
    if ( exc_count[X86_EXC_PF] != pfs + 1 )
        xtf_failure("fault: the guest's handler ran %lu times\n",
                    exc_count[X86_EXC_PF] - pfs);
    if ( nr != 2 ||
         !is_step(1, insn, (unsigned long)&exc_stubs[X86_EXC_PF * 16]) )
        dump("fault");
}

static void test_rep(void)
{
    unsigned long insn, after, si = (unsigned long)src, di = (unsigned long)dst;
    unsigned long cx = 3;

    watch(3);
    asm volatile ("movl $1, (" DX ")\n"
                  "1: rep movsb\n"
                  "2:\n\t"
                  "mov $1b, %[insn]\n\t"
                  "mov $2b, %[after]"
                  : [insn] "=r" (insn), [after] "=r" (after),
                    "+S" (si), "+D" (di), "+c" (cx)
                  : "d" (sem_page) : "memory");
    read_trace();
    if ( nr != 4 || !is_step(1, insn, insn) || !is_step(2, insn, insn) ||
         !is_step(3, insn, after) )
        dump("rep movsb");
}

static void test_exits(void)
{
    unsigned long c1, c2, o1, o2;

    watch(2);
    asm volatile ("movl $1, (" DX ")\n"
                  "1: cpuid\n"
                  "2: outb %%al, $0x80\n"
                  "3:\n\t"
                  "mov" SFX " $1b, %[c1]\n\t"
                  "mov" SFX " $2b, %[c2]\n\t"
                  "mov" SFX " $2b, %[o1]\n\t"
                  "mov" SFX " $3b, %[o2]"
                  : [c1] "=m" (c1), [c2] "=m" (c2), [o1] "=m" (o1), [o2] "=m" (o2)
                  : "d" (sem_page), "a" (0), "c" (0)
                  : "ebx", "memory");
    read_trace();
    if ( nr != 3 || !is_step(1, c1, c2) || !is_step(2, o1, o2) )
        dump("cpuid and port I/O");
    else if ( !(r[1].flags & XEN_RSHADOW_REC_EMULATED) )
        xtf_failure("cpuid's step is not flagged as completed by Xen\n");
}

static void test_pushf(void)
{
    unsigned long flags;

    watch(2);
    asm volatile ("movl $1, (" DX ")\n\t"
                  "pushf\n\t"
                  "pop %[f]"
                  : [f] "=r" (flags) : "d" (sem_page) : "memory");
    read_trace();
    if ( flags & X86_EFLAGS_TF )
        xtf_failure("pushf in the window shows TF\n");
    if ( nr != 3 )
        dump("pushf");
}

/* ---- #DBs the guest causes itself, watched against unwatched ---- */

static volatile unsigned long db_ip[16], db_dr6[16];
static volatile unsigned int dbs;   /* Written by the #DB hook. */

static bool note_db(struct cpu_regs *regs)
{
    if ( dbs < ARRAY_SIZE(db_ip) )
    {
        db_ip[dbs] = regs->ip;
        db_dr6[dbs] = last_exc.dr6 & (X86_DR6_BS | 0xf);
    }
    dbs++;
    return true;
}

/* The guest's own TF over an access and three instructions, then a write
 * that hits its DR0 breakpoint. */
static void __attribute__((noinline)) own_debug(void)
{
    asm volatile ("pushf\n\t"
                  "or" SFX " $0x100, (" SP ")\n\t"
                  "popf\n\t"
                  "movl $2, (" DX ")\n\t"
                  "nop\n\t"
                  "nop\n\t"
                  "pushf\n\t"
                  "and" SFX " $~0x100, (" SP ")\n\t"
                  "popf\n\t"
                  "nop\n\t"
                  "mov" SFX " $7, %[bp]\n\t"
                  "nop"
                  : [bp] "=m" (bp_target) : "d" (sem_page) : "memory", "cc");
}

static void test_own_debug(void)
{
    unsigned long native_ip[16], native_dr6[16];
    unsigned int native, i;
    bool same = true;

    set_trap_hook(X86_EXC_DB, note_db);
    write_dr0((unsigned long)&bp_target);
    write_dr7(X86_DR7_DEFAULT | 0x2 | (0x1u << 16) | (0x3u << 18));

    rshadow_unwatch(virt_to_gfn(sem_page), 1);
    dbs = 0;
    bp_page[1] = 0;
    own_debug();
    native = dbs;
    for ( i = 0; i < ARRAY_SIZE(db_ip); i++ )
    {
        native_ip[i] = db_ip[i];
        native_dr6[i] = db_dr6[i];
    }

    watch(4);
    dbs = 0;
    bp_page[1] = 0;
    own_debug();

    write_dr7(X86_DR7_DEFAULT);
    set_trap_hook(X86_EXC_DB, NULL);
    read_trace();

    if ( native < 2 )
        xtf_error("the unwatched run took only %u #DBs\n", native);
    for ( i = 0; i < ARRAY_SIZE(db_ip); i++ )
        same &= db_ip[i] == native_ip[i] && db_dr6[i] == native_dr6[i];
    if ( dbs != native || !same )
    {
        xtf_failure("own TF/breakpoint: %u #DBs watched, %u native\n", dbs,
                    native);
        for ( i = 0; i < dbs && i < native && i < ARRAY_SIZE(db_ip); i++ )
            printk("  #DB %u at %#lx dr6 %#lx, native %#lx dr6 %#lx\n", i,
                   db_ip[i], db_dr6[i], native_ip[i], native_dr6[i]);
    }
}

static void test_restart(void)
{
    unsigned long a1, n1, a2, n2, n3, n4, n5;

    watch(3);
    asm volatile ("1: movl $1, (" DX ")\n"
                  "2: nop\n"
                  "3: movl $2, 4(" DX ")\n"     /* restarts the window */
                  "4: nop\n"
                  "5: nop\n"
                  "6: nop\n"
                  "7: nop\n\t"
                  "mov" SFX " $1b, %[a1]\n\t"
                  "mov" SFX " $2b, %[n1]\n\t"
                  "mov" SFX " $3b, %[a2]\n\t"
                  "mov" SFX " $4b, %[n2]\n\t"
                  "mov" SFX " $5b, %[n3]\n\t"
                  "mov" SFX " $6b, %[n4]\n\t"
                  "mov" SFX " $7b, %[n5]"
                  : [a1] "=m" (a1), [n1] "=m" (n1), [a2] "=m" (a2),
                    [n2] "=m" (n2), [n3] "=m" (n3), [n4] "=m" (n4),
                    [n5] "=m" (n5)
                  : "d" (sem_page) : "memory");
    read_trace();
    if ( nr != 6 || r[0].rip != a1 || !is_step(1, n1, a2) ||
         r[2].kind != XEN_RSHADOW_REC_WRITE || r[2].rip != a2 ||
         !is_step(3, n2, n3) || !is_step(4, n3, n4) || !is_step(5, n4, n5) ||
         r[3].extra != 0 )
        dump("a watched access inside the window");
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    test_fault();
    test_rep();
    test_exits();
    test_pushf();
    test_own_debug();
    test_restart();

    rshadow_disable();
    xtf_success(NULL);
}
