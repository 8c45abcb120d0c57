/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-grow/main.c
 * @brief A frame the domain gains after ENABLE can be watched, and is.
 *
 * rust-shadow checks a watch's range against the domain's highest frame.
 * That frame moves when the guest's memory grows (a balloon driver giving
 * memory back, a device model adding RAM), so it must be read at each
 * request, not remembered from ENABLE.  With rust-shadow enabled, the
 * test finds its highest frame (XENMEM_maximum_gpfn), sees a watch just
 * above it refused with ERANGE, gives one page back to Xen
 * (XENMEM_decrease_reservation) and takes it again at that frame
 * (XENMEM_populate_physmap).  The same watch must now be accepted, and a
 * write to the new frame, through a page-table window, must be recorded.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

#include <public/memory.h>

const char test_title[] = "Watching memory added after ENABLE";

/* The page handed back to Xen; never touched. */
static uint8_t spare[PAGE_SIZE] __page_bss;
/* Remapped to the new frame. */
static uint8_t window[PAGE_SIZE] __page_bss;

#define L1_FLAGS (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)
#define VALUE    0x600df00dU

static long memory_op(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

/* One frame, given back (decrease) or taken at @gfn (populate). */
static long one_frame(unsigned int cmd, xen_pfn_t gfn)
{
    struct xen_memory_reservation r = {
        .nr_extents = 1,
        .extent_order = 0,
        .domid = DOMID_SELF,
    };

    r.extent_start.p = &gfn;
    return memory_op(cmd, &r);
}

void test_main(void)
{
    static struct xen_rshadow_record rec[4];
    domid_t self = DOMID_SELF;
    intpte_t *pte = l1e_of(window), old;
    unsigned int nr;
    long max, rc;

    rshadow_require();

    if ( (rc = rshadow_enable(64)) )
        return xtf_error("ENABLE: %ld\n", rc);

    max = memory_op(XENMEM_maximum_gpfn, &self);
    if ( max <= 0 )
        return xtf_error("XENMEM_maximum_gpfn: %ld\n", max);
    printk("highest frame at ENABLE: %#lx\n", max);

    if ( (rc = rshadow_watch(max + 1, 1, XEN_RSHADOW_ACCESS_W, 0)) != -ERANGE )
        return xtf_failure("a watch above the highest frame: %ld, expected -ERANGE\n",
                           rc);

    /* Room for one more page, then that page above the highest frame. */
    if ( (rc = one_frame(XENMEM_decrease_reservation,
                         virt_to_gfn(spare))) != 1 )
        return xtf_error("XENMEM_decrease_reservation: %ld\n", rc);
    if ( (rc = one_frame(XENMEM_populate_physmap, max + 1)) != 1 )
        return xtf_error("XENMEM_populate_physmap at %#lx: %ld\n", max + 1, rc);
    rc = memory_op(XENMEM_maximum_gpfn, &self);
    printk("highest frame now: %#lx\n", rc);
    if ( rc != max + 1 )
        return xtf_error("the highest frame is %#lx, expected %#lx\n", rc,
                         max + 1);

    if ( (rc = rshadow_watch(max + 1, 1, XEN_RSHADOW_ACCESS_W, 0)) )
        return xtf_failure("a watch on the new frame %#lx: %ld, expected 0\n",
                           max + 1, rc);

    old = *pte;
    *pte = ((intpte_t)(max + 1) << PAGE_SHIFT) | L1_FLAGS;
    invlpg(window);
    *(volatile uint32_t *)window = VALUE;
    *pte = old;
    invlpg(window);

    nr = rshadow_read_all(rec, ARRAY_SIZE(rec));
    if ( nr != 1 || rec[0].kind != XEN_RSHADOW_REC_WRITE ||
         rec[0].gfn != (uint64_t)max + 1 ||
         rec[0].linear != (unsigned long)window || rec[0].size != 4 ||
         (uint32_t)rec[0].value != VALUE )
    {
        xtf_failure("the write to the new frame: %u records, expected one write of %#x\n",
                    nr, VALUE);
        rshadow_dump(rec, nr);
    }

    if ( (rc = rshadow_disable()) )
        xtf_error("DISABLE: %ld\n", rc);

    if ( !xtf_has_failed() )
        xtf_success(NULL);
}
