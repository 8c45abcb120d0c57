/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Paging: the framework identity-maps the first IDENT_MAP_MB of guest
 * physical memory with 4K pages (frame 0 left unmapped), so a virtual address
 * below that limit is its own guest physical address.
 */
#ifndef XTF_X86_PAGE_H
#define XTF_X86_PAGE_H

#define PAGE_SHIFT       12
#define PAGE_SIZE        (1 << PAGE_SHIFT)
#define PAGE_MASK        (~(PAGE_SIZE - 1))

#define _PAGE_PRESENT    0x001
#define _PAGE_RW         0x002
#define _PAGE_USER       0x004
#define _PAGE_PWT        0x008
#define _PAGE_PCD        0x010
#define _PAGE_ACCESSED   0x020
#define _PAGE_DIRTY      0x040
#define _PAGE_PSE        0x080

#define IDENT_MAP_MB     16
/* One L1 table maps 2M with 512 eight-byte entries (long mode and PAE). */
#define IDENT_L1_TABLES  (IDENT_MAP_MB / 2)

#ifndef __ASSEMBLY__

#include <xtf/types.h>

typedef uint64_t intpte_t;

/* Every 4K entry of the identity map, indexed by frame number. */
extern intpte_t l1_identmap[IDENT_L1_TABLES * 512];
extern intpte_t l2_identmap[512];

static inline unsigned long virt_to_gfn(const void *va)
{
    return (unsigned long)va >> PAGE_SHIFT;
}

static inline void *gfn_to_virt(unsigned long gfn)
{
    return (void *)(gfn << PAGE_SHIFT);
}

/* The L1 entry that maps va, or NULL if va is beyond the identity map. */
intpte_t *l1e_of(const void *va);

/*
 * Places an object alone on its own page(s): nothing else the test or the
 * framework touches shares the frame, so watching it sees only the test's
 * own accesses.
 */
#define __page_data   __section(".data.page_own") __aligned(PAGE_SIZE)
#define __page_bss    __section(".bss.page_own") __aligned(PAGE_SIZE)

#endif /* !__ASSEMBLY__ */
#endif /* XTF_X86_PAGE_H */
