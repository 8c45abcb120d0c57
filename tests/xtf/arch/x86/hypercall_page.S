/* SPDX-License-Identifier: GPL-2.0-only */
/* A page of text for Xen to fill with hypercall stubs. */
#include <arch/x86/asm.h>

        .section .text.hypercall_page, "ax", @progbits
        .balign 4096
GLOBAL(hypercall_page)
        .fill 4096, 1, 0xcc             /* int3 until Xen writes it. */
