/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Code at CPL3.  exec_user() runs a function in user mode, on a user stack,
 * and comes back to CPL0.  The function must live in user text (__user_text)
 * and touch only pages mapped for user mode (set_user_page()); it may not
 * call the framework, which is supervisor-only.  Upper page-table levels
 * allow user access, so the L1 entry alone decides.
 *
 * An exception at CPL3 goes through the usual hooks and exception table;
 * if neither deals with it, the run ends there: exec_user() returns false
 * and user_fault holds the exception and the user frame.
 *
 * For the boot vCPU only (there is one TSS).
 */
#ifndef XTF_USER_H
#define XTF_USER_H

#include <xtf/types.h>

#define __user_text __section(".user.text")

/* An exception that ended a user run: vector, error code and frame. */
struct user_fault {
    unsigned long vector, error_code, ip, cs, flags, sp, cr2;
};
extern struct user_fault user_fault;

/*
 * Runs fn(arg) at CPL3, with EFLAGS as the caller has them (IF, AC).
 * Returns true and fn's result in *ret (if not NULL) when fn returned;
 * false when an unhandled exception ended it (see user_fault).
 */
bool exec_user(unsigned long (*fn)(unsigned long), unsigned long arg,
               unsigned long *ret);

/* Maps the page holding va for user mode, or for supervisor mode only. */
void set_user_page(const void *va, bool user);

/* Called by the exception handler for an exception taken at CPL3. */
struct cpu_regs;
bool user_abort(struct cpu_regs *regs);

#endif /* XTF_USER_H */
