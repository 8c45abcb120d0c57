/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The frame an exception stub builds, lowest address first.  Handlers may
 * change any field; the stub restores them all on the way out.
 */
#ifndef XTF_X86_REGS_H
#define XTF_X86_REGS_H

#include <xtf/types.h>

#ifdef __x86_64__
struct cpu_regs {
    unsigned long r15, r14, r13, r12, r11, r10, r9, r8;
    unsigned long bp, si, di, dx, cx, bx, ax;
    unsigned long entry_vector;
    unsigned long error_code;
    /* Hardware frame. */
    unsigned long ip, cs, flags, sp, ss;
};
#else
struct cpu_regs {
    unsigned long bp, si, di, dx, cx, bx, ax;
    unsigned long entry_vector;
    unsigned long error_code;
    /*
     * Hardware frame.  From CPL3 the CPU also pushes sp and ss just above
     * it (common/user.c reads them there).
     */
    unsigned long ip, cs, flags;
};
#endif

#endif /* XTF_X86_REGS_H */
