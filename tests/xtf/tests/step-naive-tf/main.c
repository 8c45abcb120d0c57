/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/step-naive-tf/main.c
 * @brief The 2008 bug reproduced: stepping with EFLAGS.TF after the
 *        emulation hands the #DB to the guest.
 *
 * Xen boots with the test-only option rshadow-naive-tf, which makes
 * rust-shadow set the guest's TF after emulating a watched access instead
 * of using the Monitor Trap Flag.  The guest then takes a #DB (DR6.BS)
 * right after the instruction that follows the access, exactly as the
 * xen-devel poster saw "Trace/breakpoint trap" in 2008; and it can see
 * the TF that was set behind its back.  tests/step-mtf is the other half
 * of the pair.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Stepping with TF (the 2008 approach) leaks #DB";

uint32_t naive_page[PAGE_SIZE / 4] __page_bss;

#ifdef __x86_64__
# define DX "%%rdx"
#else
# define DX "%%edx"
#endif

static unsigned long db_ip, db_dr6;

static bool catch_db(struct cpu_regs *regs)
{
    db_ip = regs->ip;
    db_dr6 = last_exc.dr6;
    /* What the guest's own handler would do: stop the stepping. */
    regs->flags &= ~X86_EFLAGS_TF;
    return true;
}

void test_main(void)
{
    unsigned long next_ip, dbs;
    uint32_t a, b, c, d;

    rshadow_require();
    cpuid(0, &a, &b, &c, &d);
    if ( b != 0x756e6547 )
        return xtf_skip("steps need VMX here; the pair is shown on Bochs-VMX\n");

    if ( rshadow_enable(16) ||
         rshadow_watch(virt_to_gfn(naive_page), 1, XEN_RSHADOW_ACCESS_W, 8) )
        return xtf_error("cannot set up the watch\n");

    set_trap_hook(X86_EXC_DB, catch_db);
    dbs = exc_count[X86_EXC_DB];
    asm volatile ("movl $1, (" DX ")\n\t"      /* the watched access */
                  "nop\n"                       /* trapped after this */
                  "1: nop\n\t"
                  "mov $1b, %[ip]"
                  : [ip] "=r" (next_ip) : "d" (naive_page) : "memory");
    set_trap_hook(X86_EXC_DB, NULL);

    if ( exc_count[X86_EXC_DB] == dbs )
        return xtf_failure("no #DB reached the guest: was Xen booted with rshadow-naive-tf?\n");
    if ( exc_count[X86_EXC_DB] - dbs != 1 || db_ip != next_ip ||
         !(db_dr6 & X86_DR6_BS) )
        return xtf_failure("%lu #DB(s), at %#lx (DR6 %#lx); expected one at %#lx with BS\n",
                           exc_count[X86_EXC_DB] - dbs, db_ip, db_dr6, next_ip);

    printk("The guest took the #DB meant for the stepper, at %#lx: the 2008 bug\n",
           db_ip);
    rshadow_disable();
    xtf_success(NULL);
}
