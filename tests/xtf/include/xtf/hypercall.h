/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypercalls through the page Xen fills in (found via the hypervisor CPUID
 * leaves), with the register conventions of the environment's bitness.
 */
#ifndef XTF_HYPERCALL_H
#define XTF_HYPERCALL_H

#include <xtf/types.h>

/* Hypercall numbers (Xen's public ABI). */
#define __HYPERVISOR_xen_version  17
#define __HYPERVISOR_console_io   18
#define __HYPERVISOR_sched_op     29
#define __HYPERVISOR_domctl       36

#define CONSOLEIO_write           0

#define SCHEDOP_yield             0
#define SCHEDOP_shutdown          2
#define SHUTDOWN_poweroff         0
#define SHUTDOWN_crash            3

#define XENVER_version            0

/* Error numbers Xen returns (negated). */
#define EPERM     1
#define ENOENT    2
#define ESRCH     3
#define E2BIG     7
#define EAGAIN   11
#define ENOMEM   12
#define EFAULT   14
#define EBUSY    16
#define EEXIST   17
#define EINVAL   22
#define ENOSPC   28
#define ERANGE   34
#define ENOSYS   38
#define EACCES   13
#define ENODEV   19
#define ENXIO     6
#define EOPNOTSUPP 95
#define EADDRNOTAVAIL 99

extern uint8_t hypercall_page[];

/* Finds Xen and installs the hypercall page.  False if not under Xen. */
bool hypercall_init(void);

#define HCALL_STR(n) "call hypercall_page + " STR(n) " * 32"

#ifdef __x86_64__
#define hypercall1(nr, a1) ({                                           \
    long _r, _1;                                                        \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=D" (_1)                                \
                  : "1" ((long)(a1))                                    \
                  : "memory", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11"); \
    _r; })
#define hypercall2(nr, a1, a2) ({                                       \
    long _r, _1, _2;                                                    \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=D" (_1), "=S" (_2)                     \
                  : "1" ((long)(a1)), "2" ((long)(a2))                  \
                  : "memory", "rcx", "rdx", "r8", "r9", "r10", "r11"); \
    _r; })
#define hypercall3(nr, a1, a2, a3) ({                                   \
    long _r, _1, _2, _3;                                                \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=D" (_1), "=S" (_2), "=d" (_3)          \
                  : "1" ((long)(a1)), "2" ((long)(a2)), "3" ((long)(a3)) \
                  : "memory", "rcx", "r8", "r9", "r10", "r11");         \
    _r; })
#else
#define hypercall1(nr, a1) ({                                           \
    long _r, _1;                                                        \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=b" (_1)                                \
                  : "1" ((long)(a1))                                    \
                  : "memory", "ecx", "edx", "esi", "edi");              \
    _r; })
#define hypercall2(nr, a1, a2) ({                                       \
    long _r, _1, _2;                                                    \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=b" (_1), "=c" (_2)                     \
                  : "1" ((long)(a1)), "2" ((long)(a2))                  \
                  : "memory", "edx", "esi", "edi");                     \
    _r; })
#define hypercall3(nr, a1, a2, a3) ({                                   \
    long _r, _1, _2, _3;                                                \
    asm volatile (HCALL_STR(nr)                                         \
                  : "=a" (_r), "=b" (_1), "=c" (_2), "=d" (_3)          \
                  : "1" ((long)(a1)), "2" ((long)(a2)), "3" ((long)(a3)) \
                  : "memory", "esi", "edi");                            \
    _r; })
#endif

static inline long hypercall_console_write(const char *buf, size_t len)
{
    return hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, len, buf);
}

static inline long hypercall_shutdown(unsigned int reason)
{
    struct { uint32_t reason; } arg = { reason };

    return hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &arg);
}

static inline long hypercall_xen_version(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}

#endif /* XTF_HYPERCALL_H */
