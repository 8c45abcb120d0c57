/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * touch(): the block of code the real-Linux tests watch, shared by watchme
 * (dom0 watching itself) and target (a process in a domU).  Its labels give
 * the host the expected access RIP and the RIPs of the steps after it;
 * tests/linux/run.py's EXPECTED_STEPS is its disassembly.
 */
#ifndef RSHADOW_TESTS_LINUX_TOUCH_H
#define RSHADOW_TESTS_LINUX_TOUCH_H

#include <stdint.h>

extern const char wm_store[], wm_next[], wm_end[];

/* One 4-byte store to the watched page, then straight-line code for the
 * steps: no calls, no branches, so step k is the k-th instruction here. */
static __attribute__((noinline)) void touch(volatile uint32_t *p)
{
    __asm__ volatile(
        ".globl wm_store\n"
        "wm_store: movl $0x5a5a1234, (%0)\n"
        ".globl wm_next\n"
        "wm_next: mov $1, %%eax\n"
        "add $2, %%eax\n"
        "imul $3, %%eax, %%eax\n"
        "xor %%ecx, %%ecx\n"
        "inc %%ecx\n"
        "lea 5(%%rax,%%rcx), %%edx\n"
        "nop\n"
        "sub %%ecx, %%edx\n"
        "shl $1, %%edx\n"
        "mov %%edx, %%eax\n"
        "nop\n"
        "nop\n"
        ".globl wm_end\n"
        "wm_end:\n"
        : : "r"(p) : "eax", "ecx", "edx", "memory", "cc");
}

#endif /* RSHADOW_TESTS_LINUX_TOUCH_H */
