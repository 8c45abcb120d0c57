/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exception entry: one 16-byte stub per vector pushes a dummy error code
 * where the CPU pushes none, then the vector, and joins the common path,
 * which saves the GPRs as a struct cpu_regs and calls do_exception().
 */
#include <arch/x86/asm.h>
#include <arch/x86/processor.h>

        .text
        .balign 16
GLOBAL(exc_stubs)
        .set vec, 0
        .rept 256
        .balign 16
        .if vec < 32
        .if ((X86_EXC_HAVE_EC >> vec) & 1) == 0
        push    $0
        .endif
        .else
        push    $0
        .endif
        push    $vec
        jmp     handle_exception
        .set vec, vec + 1
        .endr

handle_exception:
#ifdef __x86_64__
        push    %rax
        push    %rbx
        push    %rcx
        push    %rdx
        push    %rdi
        push    %rsi
        push    %rbp
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %r12
        push    %r13
        push    %r14
        push    %r15

        mov     %rsp, %rdi
        call    do_exception

        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rbp
        pop     %rsi
        pop     %rdi
        pop     %rdx
        pop     %rcx
        pop     %rbx
        pop     %rax
        add     $16, %rsp               /* Vector and error code. */
        iretq
#else
        push    %eax
        push    %ebx
        push    %ecx
        push    %edx
        push    %edi
        push    %esi
        push    %ebp

        push    %esp
        call    do_exception
        add     $4, %esp

        pop     %ebp
        pop     %esi
        pop     %edi
        pop     %edx
        pop     %ecx
        pop     %ebx
        pop     %eax
        add     $8, %esp                /* Vector and error code. */
        iret
#endif
