/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The framework's page tables: an identity map of the first IDENT_MAP_MB of
 * memory with 4K pages, frame 0 not present.  They are ordinary writable
 * data, so tests can edit entries (and Xen's shadow code has to emulate
 * those writes).  Entries are written as two longs so that one source serves
 * both the 64-bit and the 32-bit PAE environments.
 */
#include <arch/x86/asm.h>
#include <arch/x86/page.h>

#define L1_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
/*
 * Upper levels allow user access, so that the L1 entry alone decides it
 * (common/user.c sets _PAGE_USER there for the pages user code may touch).
 */
#define UP_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED)

        .section .data.pagetables, "aw", @progbits
        .balign 4096
GLOBAL(l1_identmap)
        .long 0, 0                      /* Frame 0: not present. */
        .set frame, 1
        .rept IDENT_L1_TABLES * 512 - 1
        .long (frame << PAGE_SHIFT) | L1_FLAGS, 0
        .set frame, frame + 1
        .endr

GLOBAL(l2_identmap)
        .set tbl, 0
        .rept IDENT_L1_TABLES
        .long l1_identmap + tbl * 4096 + UP_FLAGS, 0
        .set tbl, tbl + 1
        .endr
        .fill 512 - IDENT_L1_TABLES, 8, 0

#ifdef __x86_64__
GLOBAL(l3_identmap)
        .long l2_identmap + UP_FLAGS, 0
        .fill 511, 8, 0

GLOBAL(l4_identmap)
        .long l3_identmap + UP_FLAGS, 0
        .fill 511, 8, 0
#else
        /* PAE PDPTEs: present bit only (RW/US/A are reserved there). */
        .balign 4096
GLOBAL(pae_l3_identmap)
        .long l2_identmap + _PAGE_PRESENT, 0
        .fill 3, 8, 0
        .balign 4096
#endif
