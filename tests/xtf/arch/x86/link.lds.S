/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test kernels are loaded by Xen's PVH dom0 builder at their physical
 * addresses, which equal their virtual addresses (the identity map).
 */
#include <arch/x86/page.h>

#undef i386     /* A predefined macro in 32-bit builds. */

#ifdef __x86_64__
OUTPUT_FORMAT("elf64-x86-64")
OUTPUT_ARCH(i386:x86-64)
#else
OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
#endif

ENTRY(_pvh_start)

PHDRS
{
    load PT_LOAD FLAGS(7);
    note PT_NOTE FLAGS(4);
}

SECTIONS
{
    . = 0x100000;

    .text : {
        *(.text.head)
        *(.text .text.*)
        /* Code a test placed alone on its own page(s). */
        . = ALIGN(PAGE_SIZE);
        *(.text.page_own)
        . = ALIGN(PAGE_SIZE);
    } :load

    /* Code that runs at CPL3 (common/user.c maps it user). */
    .user_text : {
        __start_user_text = .;
        *(.user.text)
        . = ALIGN(PAGE_SIZE);
        __end_user_text = .;
    } :load

    .note : { *(.note.Xen) } :load :note

    .rodata : { *(.rodata .rodata.*) } :load

    .ex_table : {
        __start_ex_table = .;
        *(.ex_table)
        __stop_ex_table = .;
    } :load

    . = ALIGN(PAGE_SIZE);
    .data : {
        *(.data.pagetables)
        . = ALIGN(PAGE_SIZE);
        *(.data.page_own)
        . = ALIGN(PAGE_SIZE);
        *(.data .data.*)
    } :load

    . = ALIGN(PAGE_SIZE);
    .bss : {
        *(.bss.page_own)
        . = ALIGN(PAGE_SIZE);
        *(.bss .bss.*)
        *(COMMON)
        . = ALIGN(PAGE_SIZE);
    } :load
    _end = .;

    /DISCARD/ : {
        *(.comment) *(.note.GNU-stack) *(.note.gnu.property)
        *(.eh_frame) *(.eh_frame_hdr)
    }
}

ASSERT(_end <= IDENT_MAP_MB * 1024 * 1024, "test kernel exceeds the identity map")
