/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Running a function at CPL3 (common/user.c has the C side).
 *
 * exec_user_asm(fn, arg) saves the callee-saved registers and the stack
 * pointer, then irets to user_entry at CPL3 on the user stack.  There
 * fn(arg) runs; its result goes back through the DPL3 gate
 * X86_VEC_RET2KERN, whose stub joins exec_user_return.  An exception at
 * CPL3 that nothing handled also resumes at exec_user_return (traps.c
 * points the frame there).  exec_user_return runs at CPL0 on the TSS's
 * stack, so it takes the saved stack back and returns to the caller with
 * %eax/%rax as it found it.
 */
#include <arch/x86/asm.h>
#include <arch/x86/page.h>
#include <arch/x86/processor.h>

        .text
#ifdef __x86_64__
ENTRY(exec_user_asm)            /* %rdi = fn, %rsi = arg */
        push    %rbp
        push    %rbx
        push    %r12
        push    %r13
        push    %r14
        push    %r15
        mov     %rsp, user_ksp

        push    $(GDT_USER_DS | 3)
        push    $(user_stack + PAGE_SIZE)
        pushf
        push    $(GDT_USER_CS64 | 3)
        push    $user_entry
        iretq
ENDFUNC(exec_user_asm)

ENTRY(exec_user_return)
        mov     user_ksp, %rsp
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbx
        pop     %rbp
        ret
ENDFUNC(exec_user_return)
#else
ENTRY(exec_user_asm)            /* 4(%esp) = fn, 8(%esp) = arg */
        push    %ebp
        push    %ebx
        push    %esi
        push    %edi
        mov     20(%esp), %eax
        mov     24(%esp), %edx
        mov     %esp, user_ksp

        push    $(GDT_USER_DS | 3)
        push    $(user_stack + PAGE_SIZE)
        pushf
        push    $(GDT_USER_CS32 | 3)
        push    $user_entry
        iret
ENDFUNC(exec_user_asm)

ENTRY(exec_user_return)
        mov     user_ksp, %esp
        mov     $GDT_DS, %ecx
        mov     %ecx, %ds
        mov     %ecx, %es
        mov     %ecx, %fs
        mov     %ecx, %gs
        pop     %edi
        pop     %esi
        pop     %ebx
        pop     %ebp
        ret
ENDFUNC(exec_user_return)
#endif

/* The X86_VEC_RET2KERN gate's target: fn has returned. */
ENTRY(ret2kern_stub)
        movb    $1, user_returned
        jmp     exec_user_return
ENDFUNC(ret2kern_stub)

        .section .user.text, "ax", @progbits
user_entry:
#ifdef __x86_64__
        mov     %rdi, %rax
        mov     %rsi, %rdi
        call    *%rax
#else
        /* iret to CPL3 left %ds and %es null: load the user's. */
        mov     $(GDT_USER_DS | 3), %ecx
        mov     %ecx, %ds
        mov     %ecx, %es
        push    %edx
        call    *%eax
#endif
        int     $X86_VEC_RET2KERN
1:      jmp     1b

        .data
        .balign 8
user_ksp:
        _WORD   0
GLOBAL(user_returned)
        .byte   0
