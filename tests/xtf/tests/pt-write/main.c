/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/pt-write/main.c
 * @brief Shadow page-table write emulation: the guest edits its own PTEs.
 *
 * Xen write-protects every guest page table it shadows, so each write below
 * faults into sh_page_fault() and is emulated.  The test checks that the
 * effect is what native hardware would show: after invlpg, the remapped
 * virtual page reads the new frame.  Writes go
 *  - directly to the L1 entry,
 *  - through a second mapping (alias) of the L1 table page,
 *  - with a locked cmpxchg of the whole entry,
 *  - as two 32-bit halves (in the PAE environment this is the case Xen's
 *    extra "second half" emulation exists for),
 * and clearing the present bit must produce a #PF at the right address.
 */
#include <xtf.h>

const char test_title[] = "Shadow page-table write emulation";

#define PTE_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

static uint8_t page_a[PAGE_SIZE] __page_bss;
static uint8_t page_b[PAGE_SIZE] __page_bss;
static uint8_t window[PAGE_SIZE] __page_bss;
static uint8_t alias[PAGE_SIZE] __page_bss;

static intpte_t pte_for(const void *frame)
{
    return ((intpte_t)virt_to_gfn(frame) << PAGE_SHIFT) | PTE_FLAGS;
}

static void check_window(const char *how, uint8_t expect)
{
    volatile uint8_t *w = window;

    invlpg(window);
    if ( w[0] != expect || w[PAGE_SIZE - 1] != expect )
        xtf_failure("%s: window reads %#x/%#x, expected %#x\n", how, w[0],
                    w[PAGE_SIZE - 1], expect);
}

static bool cmpxchg_pte(volatile intpte_t *pte, intpte_t old, intpte_t new)
{
#ifdef __x86_64__
    intpte_t prev;

    asm volatile ("lock cmpxchg %[new], %[pte]"
                  : "=a" (prev), [pte] "+m" (*pte)
                  : [new] "r" (new), "0" (old) : "memory");
    return prev == old;
#else
    uint32_t lo = old, hi = old >> 32;

    asm volatile ("lock cmpxchg8b %[pte]"
                  : "+a" (lo), "+d" (hi), [pte] "+m" (*pte)
                  : "b" ((uint32_t)new), "c" ((uint32_t)(new >> 32))
                  : "memory");
    return lo == (uint32_t)old && hi == (uint32_t)(old >> 32);
#endif
}

void test_main(void)
{
    volatile intpte_t *pte = l1e_of(window);
    volatile intpte_t *alias_pte;
    volatile uint32_t *half = (volatile uint32_t *)pte;
    unsigned long ip;

    memset(page_a, 'A', PAGE_SIZE);
    memset(page_b, 'B', PAGE_SIZE);

    /* Direct write of the L1 entry. */
    *pte = pte_for(page_a);
    check_window("direct write", 'A');

    /* Map the L1 table page a second time and write through that alias. */
    *l1e_of(alias) = pte_for((const void *)pte);
    invlpg(alias);
    alias_pte = (volatile intpte_t *)(alias + ((unsigned long)pte & ~PAGE_MASK));
    if ( *alias_pte != *pte )
        xtf_failure("alias reads PTE %#llx, direct mapping %#llx\n",
                    (unsigned long long)*alias_pte, (unsigned long long)*pte);
    *alias_pte = pte_for(page_b);
    check_window("write through the alias", 'B');
    if ( (*pte & PAGE_MASK) != (pte_for(page_b) & PAGE_MASK) )
        xtf_failure("direct mapping does not see the alias write: %#llx\n",
                    (unsigned long long)*pte);

    /* Locked cmpxchg of the whole entry. */
    if ( !cmpxchg_pte(pte, *pte, pte_for(page_a)) )
        xtf_failure("cmpxchg of the PTE failed\n");
    check_window("cmpxchg", 'A');

    /* Two 32-bit halves, low then high. */
    half[0] = (uint32_t)pte_for(page_b);
    half[1] = (uint32_t)(pte_for(page_b) >> 32);
    check_window("two 32-bit halves", 'B');

    /* Not present: the access must fault at the window's address. */
    *pte = 0;
    invlpg(window);
    asm volatile ("1: movb (%[w]), %%al; 2:\n\t"
                  _ASM_EXTABLE(1b, 2b)
                  "mov $1b, %[ip]"
                  : [ip] "=r" (ip) : [w] "r" (window) : "eax", "memory");
    if ( last_exc.vector != X86_EXC_PF || last_exc.ip != ip ||
         last_exc.cr2 != (unsigned long)window || (last_exc.error_code & 1) )
        xtf_failure("non-present PTE: vector %lu at %#lx cr2 %#lx ec %#lx\n",
                    last_exc.vector, last_exc.ip, last_exc.cr2,
                    last_exc.error_code);

    /* Back to the identity mapping. */
    *pte = pte_for(window);
    check_window("restored identity mapping", 0);
    *l1e_of(alias) = pte_for(alias);
    invlpg(alias);

    if ( exc_count[X86_EXC_PF] != 1 )
        xtf_failure("%lu #PFs in total, expected 1\n", exc_count[X86_EXC_PF]);

    xtf_success(NULL);
}
