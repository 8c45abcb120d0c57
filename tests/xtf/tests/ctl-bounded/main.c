/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/ctl-bounded/main.c
 * @brief The work of one control call is bounded: ADD_WATCH checks at
 *        most XEN_RSHADOW_RAM_CHECK_BATCH frames per call and continues.
 *
 * Upstream deprecated shadow paging (XSA-495) because its operations may
 * run too long without preemption; rust-shadow's ADD_WATCH checks that
 * each frame of a range of up to 2^20 is RAM.  It does at most 4096 per
 * hypercall, and continues through hypercall continuations, which the
 * caller does not see and the statistics count:
 *  - a range of 3 * 4096 + 100 frames of RAM: accepted, listed whole,
 *    after exactly 3 continuations;
 *  - RESET zeroes the count;
 *  - a range of 3 * 4096 frames with a frame given back to Xen 8199
 *    frames in (in the third piece): EADDRNOTAVAIL after 2 continuations,
 *    and nothing changed;
 *  - a range of 4096 frames: no continuation.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

#include <public/memory.h>

const char test_title[] = "Control calls bounded per call";

#define BATCH XEN_RSHADOW_RAM_CHECK_BATCH

/* Frames well above the test kernel, below dom0's 128 MiB: RAM. */
#define BASE  0x1000UL
#define HOLE  0x5000UL

static long one_frame(unsigned int cmd, xen_pfn_t gfn)
{
    struct xen_memory_reservation r = {
        .nr_extents = 1,
        .extent_order = 0,
        .domid = DOMID_SELF,
    };

    r.extent_start.p = &gfn;
    return hypercall2(__HYPERVISOR_memory_op, cmd, &r);
}

static uint64_t continuations(void)
{
    struct xen_rshadow_stats s;

    return rshadow_stats(&s) ? ~0ULL : s.continuations;
}

static unsigned int listed(uint64_t *first, uint64_t *frames)
{
    struct xen_rshadow_watch w;
    unsigned int nr = 1, total = 0;

    if ( rshadow_list(&w, &nr, 0, &total) )
        return ~0u;
    if ( nr )
    {
        *first = w.first_gfn;
        *frames = w.nr_frames;
    }
    return total;
}

void test_main(void)
{
    uint64_t first = 0, frames = 0;
    long rc;

    rshadow_require();
    if ( rshadow_enable(16) )
        return xtf_error("cannot enable rust-shadow\n");

    rc = rshadow_watch(BASE, 3 * BATCH + 100, XEN_RSHADOW_ACCESS_W, 0);
    if ( rc )
        return xtf_failure("%u frames of RAM: %ld\n", 3 * BATCH + 100, rc);
    if ( continuations() != 3 )
        xtf_failure("%u frames took %llu continuations, expected 3\n",
                    3 * BATCH + 100, (unsigned long long)continuations());
    if ( listed(&first, &frames) != 1 || first != BASE ||
         frames != 3 * BATCH + 100 )
        xtf_failure("listed %#llx+%llu\n", (unsigned long long)first,
                    (unsigned long long)frames);
    printk("  ok   %u frames in 4 calls\n", 3 * BATCH + 100);

    if ( rshadow_reset() || continuations() != 0 )
        xtf_failure("RESET left %llu continuations counted\n",
                    (unsigned long long)continuations());

    if ( (rc = one_frame(XENMEM_decrease_reservation, HOLE)) != 1 )
        return xtf_error("cannot give frame %#lx back: %ld\n", HOLE, rc);
    rc = rshadow_watch(HOLE - 2 * BATCH - 7, 3 * BATCH, XEN_RSHADOW_ACCESS_W, 0);
    if ( rc != -EADDRNOTAVAIL || continuations() != 2 ||
         listed(&first, &frames) != 0 )
        xtf_failure("a hole in the third piece: %ld after %llu continuations\n",
                    rc, (unsigned long long)continuations());
    else
        printk("  ok   a hole in the third piece: EADDRNOTAVAIL, 2 continuations\n");
    if ( (rc = one_frame(XENMEM_populate_physmap, HOLE)) != 1 )
        xtf_error("cannot take frame %#lx again: %ld\n", HOLE, rc);

    rshadow_reset();
    if ( rshadow_watch(BASE, BATCH, XEN_RSHADOW_ACCESS_W, 0) ||
         continuations() != 0 )
        xtf_failure("%u frames: %llu continuations, expected none\n", BATCH,
                    (unsigned long long)continuations());

    rshadow_disable();
    xtf_success(NULL);
}
