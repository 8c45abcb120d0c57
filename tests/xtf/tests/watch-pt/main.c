/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-pt/main.c
 * @brief A watched page that is also one of the guest's page tables.
 *
 * The L1 table that maps a test window is watched for reads and writes.
 * Writing a PTE there is at once a page-table write Xen must emulate and
 * validate, and a watched access: the new mapping must take effect as
 * natively, and the trace must show the write with the PTE's value.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Watched page-table page";

#define PTE_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

static uint8_t page_a[PAGE_SIZE] __page_bss;
static uint8_t window[PAGE_SIZE] __page_bss;

void test_main(void)
{
    volatile intpte_t *pte = l1e_of(window);
    unsigned long table = virt_to_gfn((const void *)pte);
    intpte_t new = ((intpte_t)virt_to_gfn(page_a) << PAGE_SHIFT) | PTE_FLAGS;
    struct xen_rshadow_record r[8];
    unsigned int nr = ARRAY_SIZE(r), i;
    intpte_t seen;

    rshadow_require();
    memset(page_a, 'A', PAGE_SIZE);

    if ( rshadow_enable(16) ||
         rshadow_watch(table, 1, XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot watch the page table\n");

#ifdef __x86_64__
    *pte = new;
#else
    /* One 8-byte write, as a PAE guest's own code would make it. */
    seen = *pte;
    asm volatile ("lock cmpxchg8b %0"
                  : "+m" (*pte), "+A" (seen)
                  : "b" ((uint32_t)new), "c" ((uint32_t)(new >> 32))
                  : "memory");
#endif
    invlpg(window);
    if ( ACCESS_ONCE(window[0]) != 'A' || ACCESS_ONCE(window[PAGE_SIZE - 1]) != 'A' )
        xtf_failure("the PTE written to a watched page table did not take effect\n");

    seen = *pte;
    if ( (seen & PAGE_MASK) != (new & PAGE_MASK) )
        xtf_failure("reading the PTE back gave %#llx\n", (unsigned long long)seen);

    if ( rshadow_read(r, &nr, NULL) )
        return xtf_failure("cannot read the trace\n");
    /*
     * A write (or, for cmpxchg8b, an atomic update) of the whole new PTE,
     * then the read-back: one 8-byte read, or two 4-byte reads in PAE.
     */
    for ( i = 0; i < nr; i++ )
        if ( (r[i].kind == XEN_RSHADOW_REC_WRITE ||
              r[i].kind == XEN_RSHADOW_REC_RMW) &&
             r[i].linear == (unsigned long)pte && r[i].size == 8 &&
             r[i].value == new && r[i].gfn == table )
            break;
    if ( i == nr )
        xtf_failure("no record of the PTE write among %u\n", nr);
    else if ( i + 1 >= nr || r[i + 1].kind != XEN_RSHADOW_REC_READ ||
              r[i + 1].linear != (unsigned long)pte )
        xtf_failure("no record of the PTE read after the write\n");
    if ( xtf_has_failed() )
        for ( i = 0; i < nr; i++ )
            rshadow_print_record(&r[i]);

    /* Put the identity mapping back, still watched. */
    *pte = ((intpte_t)virt_to_gfn(window) << PAGE_SHIFT) | PTE_FLAGS;
    invlpg(window);
    if ( ACCESS_ONCE(window[0]) != 0 )
        xtf_failure("restoring the identity mapping did not take effect\n");

    rshadow_disable();
    xtf_success(NULL);
}
