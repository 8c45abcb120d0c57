/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The instruction sequence stepped after a watched access: step_seq(page)
 * writes to the watched page at step_access, then runs step_i1 ...
 * step_i9.  Each step_iN label is an instruction boundary the test checks
 * step records against.
 */
#include <arch/x86/asm.h>

        .text
ENTRY(step_seq)
#ifdef __x86_64__
        mov     %rdi, %rdx
#else
        mov     4(%esp), %edx
#endif
GLOBAL(step_access)
#ifdef __x86_64__
        movl    $0x5eed, (%rdx)
#else
        movl    $0x5eed, (%edx)
#endif
GLOBAL(step_i1)
        nop
GLOBAL(step_i2)
        mov     $2, %eax
GLOBAL(step_i3)
        add     %eax, %eax
GLOBAL(step_i4)
        jmp     1f
        ud2
1:
GLOBAL(step_i5)
        xor     %ecx, %ecx
GLOBAL(step_i6)
        inc     %ecx
GLOBAL(step_i7)
#ifdef __x86_64__
        push    %rax
#else
        push    %eax
#endif
GLOBAL(step_i8)
#ifdef __x86_64__
        pop     %rax
#else
        pop     %eax
#endif
GLOBAL(step_i9)
        nop
        ret
ENDFUNC(step_seq)
