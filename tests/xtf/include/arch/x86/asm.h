/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef XTF_X86_ASM_H
#define XTF_X86_ASM_H

#define GLOBAL(name) .globl name; name:
#define ENTRY(name)  .globl name; .type name, @function; name:
#define ENDFUNC(name) .size name, . - name

/* Selectors of the framework's GDT (arch/x86/head.S). */
#define GDT_CS64  0x08
#define GDT_CS32  0x10
#define GDT_DS    0x18

#ifdef __x86_64__
#define _WORD .quad
#else
#define _WORD .long
#endif

#endif /* XTF_X86_ASM_H */
