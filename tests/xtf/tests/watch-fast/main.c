/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-fast/main.c
 * @brief Repeated watched accesses, and what must end their fast path.
 *
 * A watched fault that emulated well is remembered, so that the next one
 * on its page, with the same error code and shadow entry, skips the guest
 * walk (the statistics count those).  Every repeat must still be recorded
 * exactly, and the memory must
 * not outlive what it relies on: a remapped page (the frame recorded is
 * the new one), a watch removed (no more records), a watch changed (its
 * new step budget applies), another kind of access, rust-shadow disabled.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "Watched pages: the fast path of repeated accesses";

#define PTE_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

static uint32_t page_a[PAGE_SIZE / 4] __page_bss;
static uint32_t page_b[PAGE_SIZE / 4] __page_bss;
static uint32_t window[PAGE_SIZE / 4] __page_bss;

static struct xen_rshadow_record rec[32];
static unsigned int nr;

static unsigned long gfn(const void *p)
{
    return virt_to_gfn(p);
}

/* Reads the trace into rec[], nr records. */
static void take(void)
{
    nr = ARRAY_SIZE(rec);
    if ( rshadow_read(rec, &nr, NULL) )
    {
        nr = 0;
        xtf_failure("cannot read the trace\n");
    }
}

static void dump(void)
{
    unsigned int i;

    for ( i = 0; i < nr; i++ )
        rshadow_print_record(&rec[i]);
}

/* Record i is an access of this kind, at p, to frame f, of value v. */
static bool is_access(unsigned int i, unsigned int kind, const void *p,
                      unsigned long f, uint32_t v)
{
    return i < nr && rec[i].kind == kind && rec[i].linear == (unsigned long)p &&
           rec[i].gfn == f && rec[i].size == 4 && (uint32_t)rec[i].value == v;
}

static void map_window(const void *target)
{
    *l1e_of(window) = ((intpte_t)gfn(target) << PAGE_SHIFT) | PTE_FLAGS;
    invlpg(window);
}

static uint64_t fast_faults(void)
{
    struct xen_rshadow_stats st;

    if ( rshadow_stats(&st) )
        xtf_failure("cannot read the statistics\n");
    return st.fast_faults;
}

static void repeats(void)
{
    unsigned int i;
    uint64_t fast = fast_faults();

    printk("Repeated writes to one page\n");
    for ( i = 0; i < 6; i++ )
        ACCESS_ONCE(page_a[i * 8]) = 0x100 + i;
    /* All but the first are repeats: the same write, the same entry. */
    fast = fast_faults() - fast;
    if ( fast != 5 )
        xtf_failure("  %llu of the 6 writes took the fast path, not 5\n",
                    (unsigned long long)fast);
    take();
    for ( i = 0; i < 6; i++ )
        if ( !is_access(i, XEN_RSHADOW_REC_WRITE, &page_a[i * 8], gfn(page_a),
                        0x100 + i) )
            break;
    if ( i < 6 || nr != 6 )
    {
        xtf_failure("  expected 6 writes to page A, in order\n");
        dump();
    }
}

static void remapped(void)
{
    printk("A page remapped between two writes\n");
    map_window(page_a);
    ACCESS_ONCE(window[1]) = 0xa1;
    ACCESS_ONCE(window[2]) = 0xa2;
    map_window(page_b);
    ACCESS_ONCE(window[3]) = 0xb3;
    ACCESS_ONCE(window[4]) = 0xb4;
    map_window(window);
    take();
    if ( nr != 4 ||
         !is_access(0, XEN_RSHADOW_REC_WRITE, &window[1], gfn(page_a), 0xa1) ||
         !is_access(1, XEN_RSHADOW_REC_WRITE, &window[2], gfn(page_a), 0xa2) ||
         !is_access(2, XEN_RSHADOW_REC_WRITE, &window[3], gfn(page_b), 0xb3) ||
         !is_access(3, XEN_RSHADOW_REC_WRITE, &window[4], gfn(page_b), 0xb4) )
    {
        xtf_failure("  expected two writes to A then two to B, through the window\n");
        dump();
    }
    if ( page_a[1] != 0xa1 || page_a[2] != 0xa2 ||
         page_b[3] != 0xb3 || page_b[4] != 0xb4 )
        xtf_failure("  the writes through the window went astray\n");
}

static void watch_changes(void)
{
    printk("Watches removed and changed between two writes\n");
    ACCESS_ONCE(page_a[10]) = 1;
    rshadow_unwatch(gfn(page_a), 1);
    ACCESS_ONCE(page_a[11]) = 2;
    take();
    if ( nr != 1 || !is_access(0, XEN_RSHADOW_REC_WRITE, &page_a[10], gfn(page_a), 1) )
    {
        xtf_failure("  expected one write, before the unwatch\n");
        dump();
    }

    /* Watched again, now with two steps after each access. */
    if ( rshadow_watch(gfn(page_a), 1, XEN_RSHADOW_ACCESS_W, 2) )
        return xtf_error("cannot watch page A again\n");
    asm volatile ("movl $3, %0; nop; nop; nop" : "=m" (page_a[12]));
    take();
    if ( nr != 3 || !is_access(0, XEN_RSHADOW_REC_WRITE, &page_a[12], gfn(page_a), 3) ||
         rec[1].kind != XEN_RSHADOW_REC_STEP || rec[2].kind != XEN_RSHADOW_REC_STEP )
    {
        xtf_failure("  expected the write and its two steps\n");
        dump();
    }
}

static void kinds(void)
{
    uint32_t v;

    printk("Reads and writes alternating on one page\n");
    if ( rshadow_unwatch(gfn(page_b), 1) ||
         rshadow_watch(gfn(page_b), 1, XEN_RSHADOW_ACCESS_R | XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot watch page B for reads too\n");
    ACCESS_ONCE(page_b[20]) = 0x20;
    v = ACCESS_ONCE(page_b[20]);
    ACCESS_ONCE(page_b[21]) = v + 1;
    v = ACCESS_ONCE(page_b[21]);
    v = ACCESS_ONCE(page_b[20]);
    take();
    if ( nr != 5 ||
         !is_access(0, XEN_RSHADOW_REC_WRITE, &page_b[20], gfn(page_b), 0x20) ||
         !is_access(1, XEN_RSHADOW_REC_READ, &page_b[20], gfn(page_b), 0x20) ||
         !is_access(2, XEN_RSHADOW_REC_WRITE, &page_b[21], gfn(page_b), 0x21) ||
         !is_access(3, XEN_RSHADOW_REC_READ, &page_b[21], gfn(page_b), 0x21) ||
         !is_access(4, XEN_RSHADOW_REC_READ, &page_b[20], gfn(page_b), 0x20) )
    {
        xtf_failure("  expected write, read, write, read, read\n");
        dump();
    }
}

static void disabled(void)
{
    printk("rust-shadow disabled between two writes\n");
    ACCESS_ONCE(page_a[30]) = 30;
    take();
    if ( rshadow_disable() )
        return xtf_error("cannot disable rust-shadow\n");
    ACCESS_ONCE(page_a[31]) = 31;
    ACCESS_ONCE(page_a[32]) = 32;
    if ( page_a[30] != 30 || page_a[31] != 31 || page_a[32] != 32 )
        xtf_failure("  writes after disabling went astray\n");
}

void test_main(void)
{
    rshadow_require();

    if ( rshadow_enable(64) ||
         rshadow_watch(gfn(page_a), 1, XEN_RSHADOW_ACCESS_W, 0) ||
         rshadow_watch(gfn(page_b), 1, XEN_RSHADOW_ACCESS_W, 0) )
        return xtf_error("cannot watch pages A and B\n");

    repeats();
    remapped();
    watch_changes();
    kinds();
    disabled();

    xtf_success(NULL);
}
