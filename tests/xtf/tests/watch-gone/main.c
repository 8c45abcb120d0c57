/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-gone/main.c
 * @brief A watched frame that leaves the p2m ends its watch, and says so.
 *
 * The guest gives a frame of a watched range back to Xen, as a balloon
 * driver does (XENMEM_decrease_reservation), and takes a new one at the
 * same address (XENMEM_populate_physmap): the frame now holds other
 * memory.  The whole watch must be listed as disabled and gone, trap
 * nothing any more (writes to both of its frames, old and new, record
 * nothing and land in memory), and the reader's event channel is
 * signalled.  Other watches stay on.  A range that is removed and added
 * again is a new watch, trapping as before.  The hvm64 environment only:
 * the shared_info layout read is the 64-bit one.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <public/event_channel.h>
#include <public/memory.h>

const char test_title[] = "Watched frames leaving the p2m";

/* Two frames of one watch, and a frame of another. */
static uint32_t range[2][PAGE_SIZE / 4] __page_bss;
static uint32_t other[PAGE_SIZE / 4] __page_bss;
static uint8_t shinfo[PAGE_SIZE] __page_bss;
static struct xen_rshadow_record recs[16];

#define W XEN_RSHADOW_ACCESS_W

static long memop(unsigned int cmd, xen_pfn_t gfn)
{
    struct xen_memory_reservation r = {
        .nr_extents = 1,
        .extent_order = 0,
        .domid = DOMID_SELF,
    };

    set_xen_guest_handle(r.extent_start, &gfn);
    return hypercall2(__HYPERVISOR_memory_op, cmd, &r);
}

static uint32_t flags_of(uint64_t first)
{
    struct xen_rshadow_watch l[4];
    unsigned int nr = ARRAY_SIZE(l), total, i;

    if ( rshadow_list(l, &nr, 0, &total) )
        return ~0u;
    for ( i = 0; i < nr; i++ )
        if ( l[i].first_gfn == first )
            return l[i].flags;
    return ~0u;
}

static bool pending(unsigned int port)
{
    struct shared_info *s = (void *)shinfo;

    return s->evtchn_pending[port / 64] & (1UL << (port % 64));
}

void test_main(void)
{
    uint64_t first = virt_to_gfn(range[0]);
    struct xen_add_to_physmap map = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .gpfn = virt_to_gfn(shinfo),
    };
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_NOTIFY,
    };
    struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF };
    unsigned int nr, i;

    rshadow_require();

    if ( hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &map) )
        return xtf_error("cannot map shared_info\n");
    if ( rshadow_enable(64) || rshadow_op(&op) )
        return xtf_error("cannot enable rust-shadow with a channel\n");
    b.remote_port = op.u.notify.port;
    if ( hypercall2(__HYPERVISOR_event_channel_op,
                    EVTCHNOP_bind_interdomain, &b) )
        return xtf_error("cannot bind the channel\n");
    if ( rshadow_watch(first, 2, W, 0) || rshadow_watch(virt_to_gfn(other), 1, W, 0) )
        return xtf_error("cannot watch\n");

    /* Watched: a write is recorded. */
    ACCESS_ONCE(range[1][0]) = 1;
    if ( rshadow_drain(recs, ARRAY_SIZE(recs)) != 1 )
        xtf_failure("the watched write was not recorded\n");
    if ( flags_of(first) != 0 )
        xtf_failure("watch flags %#x before, expected 0\n", flags_of(first));

    /* The second frame of the range goes, and comes back as other memory. */
    if ( memop(XENMEM_decrease_reservation, first + 1) != 1 )
        return xtf_error("cannot give frame %#llx back\n",
                         (unsigned long long)first + 1);
    if ( flags_of(first) !=
         (XEN_RSHADOW_WATCH_DISABLED | XEN_RSHADOW_WATCH_GONE) )
        xtf_failure("after the frame left, flags %#x, expected disabled and gone\n",
                    flags_of(first));
    for ( i = 0; i < 100000 && !pending(b.local_port); i++ )
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);
    if ( !pending(b.local_port) )
        xtf_failure("the reader's channel was not signalled\n");
    if ( memop(XENMEM_populate_physmap, first + 1) != 1 )
        return xtf_error("cannot take a frame at %#llx again\n",
                         (unsigned long long)first + 1);

    /* The watch traps nothing, on either frame; writes land. */
    ACCESS_ONCE(range[0][1]) = 2;
    ACCESS_ONCE(range[1][1]) = 3;
    nr = rshadow_drain(recs, ARRAY_SIZE(recs));
    if ( nr != 0 )
    {
        xtf_failure("%u records after the watch went\n", nr);
        rshadow_dump(recs, nr);
    }
    if ( ACCESS_ONCE(range[0][1]) != 2 || ACCESS_ONCE(range[1][1]) != 3 )
        xtf_failure("writes after the watch went did not land\n");

    /* The other watch stays on. */
    if ( flags_of(virt_to_gfn(other)) != 0 )
        xtf_failure("the other watch's flags are %#x\n",
                    flags_of(virt_to_gfn(other)));
    ACCESS_ONCE(other[0]) = 4;
    if ( rshadow_drain(recs, ARRAY_SIZE(recs)) != 1 )
        xtf_failure("the other watch did not record its write\n");

    /* Removed and added again: a new watch, which traps. */
    if ( rshadow_unwatch(first, 2) || rshadow_watch(first, 2, W, 0) )
        return xtf_error("cannot watch the range again\n");
    ACCESS_ONCE(range[1][2]) = 5;
    if ( rshadow_drain(recs, ARRAY_SIZE(recs)) != 1 )
        xtf_failure("the range watched again did not record\n");

    rshadow_disable();
    xtf_success(NULL);
}
