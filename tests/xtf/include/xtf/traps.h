/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exceptions.  Every vector is counted.  A test may
 *  - install a hook for a vector, which sees (and may edit) the frame and
 *    returns true when it has dealt with the exception;
 *  - mark an instruction as allowed to fault with _ASM_EXTABLE(insn, fixup):
 *    the handler resumes at fixup;
 * and anything else is an unexpected exception: the test ends as ERROR.
 */
#ifndef XTF_TRAPS_H
#define XTF_TRAPS_H

#include <xtf/types.h>
#include <arch/x86/regs.h>

typedef bool (*trap_hook_t)(struct cpu_regs *regs);

/* Number of times each vector was taken since boot. */
extern volatile unsigned long exc_count[256];

/* The last exception taken, as the framework saw it. */
struct exc_record {
    unsigned long vector, error_code, ip, cr2, dr6;
};
extern volatile struct exc_record last_exc;

void set_trap_hook(unsigned int vector, trap_hook_t hook);

/* Sets up the IDT; called by the framework before test_main(). */
void traps_init(void);

/* Loads that IDT on this vCPU: secondary vCPUs share it (common/smp.c). */
void traps_load(void);

/*
 * An iret through the frame at `frame` (built by the caller: RIP, CS,
 * RFLAGS, and in 64-bit RSP and SS too), which must return to
 * iret_via_return, at the same privilege; the stack is restored after.
 * Returns the address of the iret instruction, as a trace records it.
 */
unsigned long iret_via(unsigned long *frame);
extern const char iret_via_return[];

#ifdef __x86_64__
#define _ASM_PTR ".quad"
#else
#define _ASM_PTR ".long"
#endif

#define _ASM_EXTABLE(fault, fixup)              \
    ".pushsection .ex_table, \"a\"\n\t"         \
    _ASM_PTR " " #fault ", " #fixup "\n\t"      \
    ".popsection\n\t"

#endif /* XTF_TRAPS_H */
