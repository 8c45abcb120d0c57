/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-leaks/main.c
 * @brief Nothing the guest can look at shows rust-shadow's stepping.
 *
 * On SVM the window is stepped with EFLAGS.TF, which the guest must never
 * see; on VMX (MTF) the same checks hold trivially.  Inside a window:
 *  - the RFLAGS image in an int3 frame, checked by the #BP handler;
 *  - R11 after syscall (64-bit only), which holds RFLAGS;
 *  - a popf that sets the guest's own TF: the guest takes exactly the #DBs
 *    it takes unwatched.
 * (pushf, and the guest's TF set before the access, are in step-semantics.)
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Stepping leaks nothing to the guest";

uint32_t leak_page[PAGE_SIZE / 4] __page_bss;

#ifdef __x86_64__
# define DX "%%rdx"
# define SFX "q"
# define SP "%%rsp"
#else
# define DX "%%edx"
# define SFX "l"
# define SP "%%esp"
#endif

static void watch(unsigned int steps)
{
    rshadow_unwatch(virt_to_gfn(leak_page), 1);
    if ( steps &&
         rshadow_watch(virt_to_gfn(leak_page), 1, XEN_RSHADOW_ACCESS_W, steps) )
    {
        xtf_error("cannot watch the page\n");
        xtf_exit();
    }
}

static void drain(void)
{
    struct xen_rshadow_record r[16];
    unsigned int nr = ARRAY_SIZE(r);

    rshadow_read(r, &nr, NULL);
}

/* ---- int3: the frame's RFLAGS ---- */

static volatile unsigned long bp_flags, bp_count;

static bool note_bp(struct cpu_regs *regs)
{
    bp_flags = regs->flags;
    bp_count++;
    return true;
}

static void test_int3_frame(void)
{
    watch(4);
    set_trap_hook(X86_EXC_BP, note_bp);
    bp_count = 0;
    asm volatile ("movl $1, (" DX ")\n\t"
                  "nop\n\t"
                  "int3\n\t"
                  "nop"
                  :: "d" (leak_page) : "memory");
    set_trap_hook(X86_EXC_BP, NULL);
    if ( bp_count != 1 )
        xtf_failure("int3 in the window: %lu #BPs\n", bp_count);
    else if ( bp_flags & X86_EFLAGS_TF )
        xtf_failure("the int3 frame shows TF: %#lx\n", bp_flags);
    drain();
}

/* ---- syscall: R11 ---- */

#ifdef __x86_64__
#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084
#define EFER_SCE   0x1

/* syscall loaded SS from STAR (0x10, not our data selector): put it back. */
asm (".pushsection .text\n"
     "syscall_target:\n\t"
     "mov $0x18, %eax\n\t"
     "mov %eax, %ss\n\t"
     "jmp *%rcx\n"
     ".popsection");
extern const char syscall_target[];

static void test_syscall_r11(void)
{
    unsigned long r11;
    uint64_t efer = rdmsr(MSR_EFER);

    /* A ring-0 syscall to a label that jumps straight back. */
    wrmsr(MSR_STAR, (uint64_t)0x08 << 32);
    wrmsr(MSR_FMASK, 0);
    wrmsr(MSR_LSTAR, (unsigned long)syscall_target);
    wrmsr(MSR_EFER, efer | EFER_SCE);

    watch(4);
    asm volatile ("movl $1, (%%rdx)\n\t"
                  "nop\n\t"
                  "syscall\n\t"
                  "mov %%r11, %[r11]"
                  : [r11] "=r" (r11)
                  : "d" (leak_page)
                  : "rax", "rcx", "r11", "memory");
    wrmsr(MSR_EFER, efer);

    if ( r11 & X86_EFLAGS_TF )
        xtf_failure("R11 after syscall shows TF: %#lx\n", r11);
    drain();
}
#endif

/* ---- popf setting the guest's own TF inside the window ---- */

static volatile unsigned long db_ip[8];
static volatile unsigned int dbs;

static bool note_db(struct cpu_regs *regs)
{
    if ( dbs < ARRAY_SIZE(db_ip) )
        db_ip[dbs] = regs->ip;
    dbs++;
    /* The guest's own handler ends its stepping after three. */
    if ( dbs == 3 )
        regs->flags &= ~X86_EFLAGS_TF;
    return true;
}

static void __attribute__((noinline)) popf_tf(void)
{
    asm volatile ("movl $1, (" DX ")\n\t"
                  "nop\n\t"
                  "pushf\n\t"
                  "or" SFX " $0x100, (" SP ")\n\t"
                  "popf\n\t"
                  "nop\n\t"
                  "nop\n\t"
                  "nop\n\t"
                  "nop\n\t"
                  "nop"
                  :: "d" (leak_page) : "memory", "cc");
}

static void test_popf_tf(void)
{
    unsigned long native[ARRAY_SIZE(db_ip)];
    unsigned int n, i;
    bool same = true;

    set_trap_hook(X86_EXC_DB, note_db);
    watch(0);
    dbs = 0;
    popf_tf();
    n = dbs;
    for ( i = 0; i < ARRAY_SIZE(db_ip); i++ )
        native[i] = db_ip[i];

    watch(6);
    dbs = 0;
    popf_tf();
    set_trap_hook(X86_EXC_DB, NULL);

    for ( i = 0; i < n && i < ARRAY_SIZE(db_ip); i++ )
        same &= native[i] == db_ip[i];
    if ( n != 3 || dbs != n || !same )
        xtf_failure("popf setting TF in the window: %u #DBs, %u unwatched\n",
                    dbs, n);
    drain();
}

void test_main(void)
{
    rshadow_require();
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");

    test_int3_frame();
#ifdef __x86_64__
    test_syscall_r11();
#endif
    test_popf_tf();

    rshadow_disable();
    xtf_success(NULL);
}
