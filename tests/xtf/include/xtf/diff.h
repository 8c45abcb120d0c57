/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The differential harness: a case is a short instruction sequence, run
 * unwatched (twice: the platform must agree with itself), then with
 * diff_mem's watched page watched without steps, then watched with steps.
 * The watched runs must end as the unwatched one did:
 *  - the general registers and EFLAGS at the end (or at the exception that
 *    ended the run);
 *  - the exception that ended it, if any: vector, error code, RIP, CR2;
 *  - every #DB taken on the way, with its RIP and DR6 (the harness's #DB
 *    handler notes it and goes on, as a debugger would), and for a
 *    DIFF_BP_RESUMES case every #BP, with its RIP and the frame's EFLAGS;
 *  - DR6 at the end;
 *  - the whole of diff_mem;
 * and the tracer must have switched nothing off: no error recorded (unless
 * the case runs natively by design), the watch still on, every write it
 * recorded to diff_mem really made (the value there at the end), and every
 * byte of the watched page that changed covered by a recorded write.
 * The first difference is printed by name and fails the test, unless the
 * case documents it (`known`).
 *
 * A case's code is a function written in assembly that ends in `ret`
 * (DIFF_CODE()); it starts with the registers and flags given in the case
 * (interrupts off) and may use diff_mem and the stack.  diff_mem is filled
 * with a fixed pattern and mapped present and writable before every run;
 * the case's setup() may then change that (a page made not present, a
 * breakpoint set), and its cleanup() undoes what setup() did.
 *
 * A DIFF_USER case runs at CPL3 (exec_user()), its code in user text, with
 * diff_mem mapped for user mode during the run only; an exception that
 * ends it is reported with the user frame.
 */
#ifndef XTF_DIFF_H
#define XTF_DIFF_H

#include <xtf/types.h>

#define DIFF_PAGES 4

/* diff_mem[DIFF_WATCHED] is the page the watched runs watch. */
#define DIFF_WATCHED 1

extern uint8_t diff_mem[DIFF_PAGES][PAGE_SIZE];

struct diff_regs {
    unsigned long ax, bx, cx, dx, si, di, bp;
#ifdef __x86_64__
    unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
#endif
    unsigned long flags;
};

/* Case flags. */
#define DIFF_NATIVE     (1u << 0) /* may run natively: NATIVE errors allowed */
#define DIFF_REWRITES   (1u << 1) /* writes an address twice: skip the check
                                     that each recorded write is in memory */
#define DIFF_NO_ACCESS  (1u << 2) /* may not touch the watched page at all */
#define DIFF_KNOWN_AMD   (1u << 3) /* `known` applies on AMD (SVM) */
#define DIFF_KNOWN_INTEL (1u << 4) /* `known` applies on Intel (VMX) */
#define DIFF_KNOWN_QEMU  (1u << 6) /* `known` applies on QEMU's TCG: the
                                     platform deviates from the manuals */
#define DIFF_USER       (1u << 5)
#define DIFF_BP_RESUMES (1u << 8) /* a #BP is noted (RIP, the frame's
                                     EFLAGS) and its handler returns: the
                                     run goes on after the int3 */
#define DIFF_INTO_HANDLER (1u << 7) /* the exception that ends the run comes
                                     inside the window: a step of it must
                                     end at that vector's handler */ /* runs at CPL3: code from DIFF_USER_CODE(),
                                     diff_mem mapped for user mode */

struct diff_case {
    const char *name;
    void (*code)(void);
    struct diff_regs in;
    unsigned int access;        /* XEN_RSHADOW_ACCESS_* of the watched runs */
    unsigned int flags;         /* DIFF_* */
    void (*setup)(void);
    void (*cleanup)(void);
    /*
     * A documented difference (README, "Differences from native"): where
     * DIFF_KNOWN_* says it applies, the case must differ, and the harness
     * prints this reason instead of failing; should it ever match, the
     * test fails, so that the documentation is corrected.
     */
    const char *known;
};

/* Defines the function name(void) from assembly; it must end in ret. */
#define DIFF_CODE_IN(section, name, body)                               \
    void name(void);                                                    \
    asm (".pushsection " section "\n\t"                                 \
         ".type " #name ", @function\n"                                 \
         #name ":\n\t"                                                  \
         body "\n\t"                                                    \
         ".size " #name ", . - " #name "\n\t"                           \
         ".popsection")
#define DIFF_CODE(name, body) DIFF_CODE_IN(".text", name, body)

/* The same in user text, for a DIFF_USER case. */
#define DIFF_USER_CODE(name, body)                                      \
    DIFF_CODE_IN(".user.text, \"ax\", @progbits", name, body)

/* The address of byte off of diff_mem's page p, for a case's registers. */
#define DIFF_VA(p, off) ((unsigned long)&diff_mem[p][off])

/* Sets the L1 flags of diff_mem's page p (and flushes its TLB entry). */
void diff_map(unsigned int p, bool present, bool writable);

/*
 * Runs c as above, the last run with `steps` steps; returns true if all
 * runs agree.  Needs rust-shadow enabled (rshadow_enable()).
 */
bool diff_run(const struct diff_case *c, unsigned int steps);

/* Whether this is QEMU's TCG (its brand string, which Xen passes on). */
bool diff_on_qemu(void);

/* Runs cases[0..nr); returns how many differed, and fails the test if any. */
unsigned int diff_run_all(const struct diff_case *cases, unsigned int nr,
                          unsigned int steps);

#endif /* XTF_DIFF_H */
