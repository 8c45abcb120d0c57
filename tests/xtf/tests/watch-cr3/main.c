/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-cr3/main.c
 * @brief Each record names the address space it ran in: the guest's CR3,
 *        flag and PCID bits masked.
 *
 * The test builds a second address space (a copy of the top-level table:
 * the L4 in long mode, the PDPT, at an odd 32-byte offset, in PAE mode),
 * then writes a watched page from each space in turn, with PWT and PCD
 * set in CR3, and in long mode with a PCID where the CPU has them.  The
 * watch steps two instructions after each write: the second is a
 * `mov %cr3` back to the first space, so the window's steps run in both.
 * Every record must carry the CR3 it was written under, masked as the
 * paging mode defines CR3 (bits 0-11 in long mode, 0-4 in PAE mode).
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "CR3 attribution of records";

static uint8_t watched[PAGE_SIZE] __page_bss;
/* The second space's top-level table. */
static uint8_t top[PAGE_SIZE] __page_bss;

#ifdef __x86_64__
#define CR3_ADDR_MASK 0x000ffffffffff000ull
#define TOP_OFFSET    0
extern intpte_t l4_identmap[];
#define TOP_TABLE     l4_identmap
#define TOP_BYTES     PAGE_SIZE
#else
#define CR3_ADDR_MASK 0xffffffe0ull
/* A PAE CR3 is 32-byte aligned: bits 5-11 are part of its address. */
#define TOP_OFFSET    0x1a0
extern intpte_t pae_l3_identmap[];
#define TOP_TABLE     pae_l3_identmap
#define TOP_BYTES     32
#endif

#define X86_CR4_PCIDE 0x00020000
#define CR3_PWT       0x8
#define CR3_PCD       0x10

static struct xen_rshadow_record recs[32];

/*
 * Writes the watched page with CR3 @space, then switches to @back: the
 * write, the `mov %cr3` (the window's first step) and the instruction
 * after it (the second) run in @space, @back, @back.
 */
static void write_in(unsigned long space, unsigned long back)
{
    unsigned long scratch;

    asm volatile ("mov %[space], %%cr3\n\t"
                  "movl $0x5a5a5a5a, %[mem]\n\t"
                  "mov %[back], %%cr3\n\t"
                  "mov %[back], %[scratch]\n\t"
                  : [mem] "=m" (*(uint32_t *)&watched[64]),
                    [scratch] "=&r" (scratch)
                  : [space] "r" (space), [back] "r" (back)
                  : "memory");
}

static void expect(const char *what, unsigned long space, unsigned long back)
{
    uint64_t want[3] = { space & CR3_ADDR_MASK, back & CR3_ADDR_MASK,
                         back & CR3_ADDR_MASK };
    uint8_t kind[3] = { XEN_RSHADOW_REC_WRITE, XEN_RSHADOW_REC_STEP,
                        XEN_RSHADOW_REC_STEP };
    unsigned int i, nr = rshadow_read_all(recs, ARRAY_SIZE(recs));

    if ( nr != 3 )
    {
        xtf_failure("%s: %u records, expected 3\n", what, nr);
        return rshadow_dump(recs, nr);
    }
    for ( i = 0; i < 3; i++ )
        if ( recs[i].kind != kind[i] || recs[i].cr3 != want[i] )
        {
            xtf_failure("%s: record %u: kind %u cr3 %#llx, expected kind %u cr3 %#llx\n",
                        what, i, recs[i].kind,
                        (unsigned long long)recs[i].cr3, kind[i],
                        (unsigned long long)want[i]);
            rshadow_print_record(&recs[i]);
        }
}

#ifdef __x86_64__
static bool cpu_has_pcid(void)
{
    uint32_t a, b, c, d;

    cpuid(1, &a, &b, &c, &d);
    return c & (1u << 17);
}
#endif

void test_main(void)
{
    unsigned long first = read_cr3(), second = (unsigned long)top + TOP_OFFSET;

    rshadow_require();

    memcpy(top + TOP_OFFSET, TOP_TABLE, TOP_BYTES);
    if ( rshadow_enable(64) )
        return xtf_error("cannot enable rust-shadow\n");
    rshadow_watch_only(virt_to_gfn(watched), XEN_RSHADOW_ACCESS_W, 2,
                       "the watched page");

    write_in(first, first);
    expect("first space", first, first);

    write_in(second, first);
    expect("second space", second, first);

    write_in(second | CR3_PWT | CR3_PCD, first | CR3_PCD);
    expect("PWT and PCD", second | CR3_PWT | CR3_PCD, first | CR3_PCD);

#ifdef __x86_64__
    if ( cpu_has_pcid() )
    {
        write_cr4(read_cr4() | X86_CR4_PCIDE);
        write_in(second | 0x5a5, first | 0x001);
        expect("PCIDs", second | 0x5a5, first | 0x001);
        /* PCID 0 again, then PCIDE off (allowed only with PCID 0). */
        write_cr3(first);
        write_cr4(read_cr4() & ~X86_CR4_PCIDE);
    }
    else
        printk("No PCID: the PCID case is not run\n");
#endif

    rshadow_disable();
    xtf_success(NULL);
}
