/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/selfstep/main.c
 * @brief The guest single-steps itself with EFLAGS.TF.
 *
 * A known instruction sequence runs with TF set by popf and cleared by a
 * later popf.  Native hardware raises exactly one #DB (a trap, DR6.BS set)
 * after each instruction that started with TF set: after every instruction
 * from the one following the first popf up to and including the second
 * popf.  The test checks the count and each RIP against labels.
 *
 * This is the behaviour rust-shadow must never disturb: the guest's own TF
 * belongs to the guest.
 */
#include <xtf.h>

const char test_title[] = "Guest self-single-step with TF";

#ifdef __x86_64__
# define SP "%rsp"
# define SFX "q"
#else
# define SP "%esp"
# define SFX "l"
#endif

/*
 * ss_expect_N are the RIPs the #DBs must report, in order: each is the
 * address just after a stepped instruction.
 */
asm (".pushsection .text, \"ax\", @progbits\n"
     ".globl selfstep_seq\n"
     "selfstep_seq:\n\t"
     "pushf\n\t"
     "or" SFX " $0x100, (" SP ")\n\t"
     "popf\n\t"                          /* TF now set. */
     "nop\n"
     "ss_expect_0:\n\t"
     "mov $1, %eax\n"
     "ss_expect_1:\n\t"
     "add %eax, %eax\n"
     "ss_expect_2:\n\t"
     "jmp 1f\n\t"
     "ud2\n"
     "1:\n"
     "ss_expect_3:\n\t"                  /* A jump reports its target. */
     "pushf\n"
     "ss_expect_4:\n\t"
     "and" SFX " $~0x100, (" SP ")\n"
     "ss_expect_5:\n\t"
     "popf\n"                            /* Started with TF: one more #DB. */
     "ss_expect_6:\n\t"
     "nop\n\t"                           /* TF clear: no #DB. */
     "ret\n"
     ".popsection\n");

extern const char ss_expect_0[], ss_expect_1[], ss_expect_2[], ss_expect_3[],
    ss_expect_4[], ss_expect_5[], ss_expect_6[];

static const char *const expect[] = {
    ss_expect_0, ss_expect_1, ss_expect_2, ss_expect_3,
    ss_expect_4, ss_expect_5, ss_expect_6,
};

static unsigned long seen_ip[16];
static unsigned long seen_dr6[16];
static unsigned int seen;

static bool record_step(struct cpu_regs *regs)
{
    if ( seen < ARRAY_SIZE(seen_ip) )
    {
        seen_ip[seen] = regs->ip;
        seen_dr6[seen] = last_exc.dr6;
    }
    seen++;
    return true;
}

void test_main(void)
{
    unsigned int i;

    set_trap_hook(X86_EXC_DB, record_step);
    asm volatile ("call selfstep_seq" ::: "eax", "memory", "cc");
    set_trap_hook(X86_EXC_DB, NULL);

    if ( seen != ARRAY_SIZE(expect) )
        xtf_failure("%u #DBs, expected %u\n", seen,
                    (unsigned int)ARRAY_SIZE(expect));

    for ( i = 0; i < seen && i < ARRAY_SIZE(expect); i++ )
    {
        if ( seen_ip[i] != (unsigned long)expect[i] )
            xtf_failure("#DB %u at %#lx, expected %p\n", i, seen_ip[i],
                        expect[i]);
        if ( !(seen_dr6[i] & X86_DR6_BS) )
            xtf_failure("#DB %u: DR6 %#lx without BS\n", i, seen_dr6[i]);
    }

    if ( read_flags() & X86_EFLAGS_TF )
        xtf_failure("TF still set after the sequence\n");

    xtf_success(NULL);
}
