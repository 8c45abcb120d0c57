/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PVH entry.  Xen starts the vCPU in flat 32-bit protected mode with paging
 * off and %ebx pointing at struct hvm_start_info.  Switch to the
 * environment's paging mode on the framework's identity map, then call C.
 * Secondary vCPUs (common/smp.c) start the same way, at _ap_start, with
 * their stack in %esi and their number in %edi, and share the switch.
 *
 *   hvm64:    long mode, 4-level paging
 *   hvm32pae: 32-bit protected mode, 3-level (PAE) paging
 */
#include <arch/x86/asm.h>
#include <arch/x86/processor.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

        /* The one note a PVH kernel needs: its 32-bit physical entry. */
        .section .note.Xen, "a", @note
        .balign 4
        .long 4                 /* namesz */
        .long 4                 /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY
        .asciz "Xen"
        .long _pvh_start

        .section .text.head, "ax", @progbits
        .code32
ENTRY(_pvh_start)
        cli
        cld
        mov     %ebx, pvh_start_info
        mov     $boot_stack_top, %esi
        xor     %edi, %edi
        jmp     switch_mode
ENDFUNC(_pvh_start)

ENTRY(_ap_start)
        cli
        cld
switch_mode:
        lgdt    gdt_ptr

        mov     $X86_CR4_PAE, %eax
        mov     %eax, %cr4
#ifdef __x86_64__
        mov     $l4_identmap, %eax
        mov     %eax, %cr3

        mov     $MSR_EFER, %ecx
        rdmsr
        or      $EFER_LME, %eax
        wrmsr
#else
        mov     $pae_l3_identmap, %eax
        mov     %eax, %cr3
#endif
        mov     $(X86_CR0_PG | X86_CR0_WP | X86_CR0_ET | X86_CR0_PE), %eax
        mov     %eax, %cr0

#ifdef __x86_64__
        ljmp    $GDT_CS64, $1f
        .code64
1:
#else
        ljmp    $GDT_CS32, $1f
1:
#endif
        mov     $GDT_DS, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     %eax, %fs
        mov     %eax, %gs

        /* A 32-bit move: the upper half of %rsp is zero, whatever it was. */
        mov     %esi, %esp
        test    %edi, %edi
        jnz     2f
        call    xtf_main
1:      hlt
        jmp     1b

2:
#ifdef __x86_64__
        mov     %edi, %edi
#else
        push    %edi
#endif
        call    xtf_ap_main
        jmp     1b
ENDFUNC(_ap_start)

        /* Writable: ltr marks the TSS descriptor busy (common/user.c). */
        .data
        .balign 8
GLOBAL(gdt)
        .quad 0
        .quad 0x00af9b000000ffff        /* GDT_CS64:      64-bit code, DPL0 */
        .quad 0x00cf9b000000ffff        /* GDT_CS32:      32-bit code, DPL0 */
        .quad 0x00cf93000000ffff        /* GDT_DS:        flat data, DPL0 */
        .quad 0x00affb000000ffff        /* GDT_USER_CS64: 64-bit code, DPL3 */
        .quad 0x00cffb000000ffff        /* GDT_USER_CS32: 32-bit code, DPL3 */
        .quad 0x00cff3000000ffff        /* GDT_USER_DS:   flat data, DPL3 */
        .quad 0, 0                      /* GDT_TSS: set up by user_init() */
gdt_end:

        .section .rodata, "a", @progbits
        .balign 8
        .word 0
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt

        .section .bss, "aw", @nobits
        .balign 8
GLOBAL(pvh_start_info)
        .long 0
        .balign 4096
boot_stack:
        .skip 4 * 4096
boot_stack_top:
