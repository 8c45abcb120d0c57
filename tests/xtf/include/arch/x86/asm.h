/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XTF_X86_ASM_H
#define XTF_X86_ASM_H

#define GLOBAL(name) .globl name; name:
#define ENTRY(name)  .globl name; .type name, @function; name:
#define ENDFUNC(name) .size name, . - name

/* Selectors of the framework's GDT (arch/x86/head.S). */
#define GDT_CS64       0x08
#define GDT_CS32       0x10
#define GDT_DS         0x18
#define GDT_USER_CS64  0x20     /* DPL3: use with RPL 3 */
#define GDT_USER_CS32  0x28
#define GDT_USER_DS    0x30
#define GDT_TSS        0x38     /* 16 bytes in long mode */

/* The DPL3 gate by which user code returns to exec_user()'s caller. */
#define X86_VEC_RET2KERN 0xf0

#ifdef __x86_64__
#define _WORD .quad
#else
#define _WORD .long
#endif

#endif /* XTF_X86_ASM_H */
