/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-ctl/main.c
 * @brief rust-shadow's control interface: every operation, and every bad
 *        input with its documented errno and no effect.
 *
 * After each refused request the watch list, the statistics and the trace
 * are compared with their state before it: a failed operation must change
 * nothing.  The trace survives a read into an unwritable buffer.
 */
#include <xtf.h>
#include <xtf/rshadow.h>

const char test_title[] = "rust-shadow control interface";

static uint8_t page[PAGE_SIZE] __page_bss;

#define R XEN_RSHADOW_ACCESS_R
#define W XEN_RSHADOW_ACCESS_W
#define X XEN_RSHADOW_ACCESS_X

/* Frames our page tables never map: revoking them is cheap. */
#define FAR_GFN 0x2000

#define EXPECT(call, err) do {                                          \
    long rc_ = (call);                                                  \
    if ( rc_ != (err) )                                                 \
        xtf_failure("%s: got %ld, expected %ld\n", #call, rc_, (long)(err)); \
} while ( 0 )

static struct xen_rshadow_watch snap_list[4];
static unsigned int snap_nr;
static struct xen_rshadow_stats snap_stats;

static void snapshot(void)
{
    snap_nr = ARRAY_SIZE(snap_list);
    EXPECT(rshadow_list(snap_list, &snap_nr, 0, NULL), 0);
    EXPECT(rshadow_stats(&snap_stats), 0);
}

static void unchanged(const char *what)
{
    struct xen_rshadow_watch now[ARRAY_SIZE(snap_list)];
    struct xen_rshadow_stats s;
    unsigned int nr = ARRAY_SIZE(now);

    EXPECT(rshadow_list(now, &nr, 0, NULL), 0);
    EXPECT(rshadow_stats(&s), 0);
    if ( nr != snap_nr || memcmp(now, snap_list, nr * sizeof(now[0])) ||
         s.watches != snap_stats.watches ||
         s.watched_frames != snap_stats.watched_frames ||
         s.records != snap_stats.records )
        xtf_failure("%s changed the state\n", what);
}

/* A bad request: its errno, and no change. */
#define REFUSED(call, err) do {                                         \
    EXPECT(call, err);                                                  \
    unchanged(#call);                                                   \
} while ( 0 )

static long raw(unsigned int op_code, uint32_t flags)
{
    struct xen_domctl_rshadow_op op = { .op = op_code, .flags = flags };

    return rshadow_op(&op);
}

/* GET_STATS stating interface version @version, 0 included. */
static long versioned(uint32_t version)
{
    struct xen_domctl d = {
        .cmd = XEN_DOMCTL_rshadow_op,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .u.rshadow_op = {
            .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS,
            .version = version,
        },
    };

    return hypercall1(__HYPERVISOR_domctl, &d);
}

static long list_raw(void *buf, unsigned int nr)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_LIST_WATCHES,
        .u.list.nr = nr,
    };

    set_xen_guest_handle(op.u.list.buf, buf);
    return rshadow_op(&op);
}

static long read_raw(unsigned int vcpu, void *buf, unsigned int nr)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_READ_TRACE,
        .u.trace = { .vcpu = vcpu, .nr = nr },
    };

    set_xen_guest_handle(op.u.trace.buf, buf);
    return rshadow_op(&op);
}

static void test_before_enable(void)
{
    EXPECT(rshadow_watch(virt_to_gfn(page), 1, R, 0), -ENXIO);
    EXPECT(rshadow_disable(), -ENXIO);
    EXPECT(rshadow_enable(0), -EINVAL);
    EXPECT(rshadow_enable(100), -EINVAL);
    EXPECT(rshadow_enable(XEN_RSHADOW_RING_MIN / 2), -EINVAL);
    EXPECT(rshadow_enable(XEN_RSHADOW_RING_MAX * 2), -E2BIG);
    EXPECT(rshadow_enable(64), 0);
    EXPECT(rshadow_enable(64), -EEXIST);
}

static void test_refusals(void)
{
    unsigned long gfn = virt_to_gfn(page);
    struct xen_rshadow_record rec[4];
    unsigned int nr;
    struct xen_domctl_rshadow_op op;

    EXPECT(rshadow_watch(gfn, 1, R | W, 0), 0);
    snapshot();
    if ( snap_nr != 1 || snap_list[0].first_gfn != gfn ||
         snap_list[0].nr_frames != 1 || snap_list[0].access != (R | W) )
        xtf_failure("listed watch differs from the one added\n");

    REFUSED(raw(99, 0), -ENOSYS);
    REFUSED(raw(0, 0), -ENOSYS);
    REFUSED(raw(XEN_DOMCTL_RSHADOW_OP_GET_STATS, 1), -EINVAL);
    /* Another version of the interface, older or newer, first of all. */
    REFUSED(versioned(0), -EACCES);
    REFUSED(versioned(XEN_RSHADOW_INTERFACE_VERSION - 1), -EACCES);
    REFUSED(versioned(XEN_RSHADOW_INTERFACE_VERSION + 1), -EACCES);
    EXPECT(versioned(XEN_RSHADOW_INTERFACE_VERSION), 0);
    op = (struct xen_domctl_rshadow_op){
        .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS,
        .pad = 1,
    };
    REFUSED(rshadow_op(&op), -EINVAL);
    op = (struct xen_domctl_rshadow_op){
        .op = XEN_DOMCTL_RSHADOW_OP_ADD_WATCH,
        .u.watch = { .first_gfn = FAR_GFN, .nr_frames = 1, .access = R,
                     .pad = 1 },
    };
    REFUSED(rshadow_op(&op), -EINVAL);
    REFUSED(rshadow_watch(FAR_GFN, 0, R, 0), -EINVAL);
    REFUSED(rshadow_watch(FAR_GFN, XEN_RSHADOW_MAX_WATCH_FRAMES + 1, R, 0),
            -E2BIG);
    REFUSED(rshadow_watch(FAR_GFN, 1, 0, 0), -EINVAL);
    REFUSED(rshadow_watch(FAR_GFN, 1, 8, 0), -EINVAL);
    REFUSED(rshadow_watch(FAR_GFN, 1, R, XEN_RSHADOW_MAX_STEPS + 1), -E2BIG);
    REFUSED(rshadow_watch(1ULL << 40, 1, R, 0), -ERANGE);
    REFUSED(rshadow_watch(~0ULL, 2, R, 0), -ERANGE);
    /* The legacy VGA frames are not RAM in a PVH dom0. */
    REFUSED(rshadow_watch(0xb8, 1, R, 0), -EADDRNOTAVAIL);
    REFUSED(rshadow_watch(gfn, 1, W, 0), -EBUSY);
    REFUSED(rshadow_watch(gfn - 1, 2, W, 0), -EBUSY);
    REFUSED(rshadow_unwatch(gfn, 2), -ENOENT);
    REFUSED(rshadow_unwatch(gfn + 1, 1), -ENOENT);
    REFUSED(list_raw((char *)rec + 4, 1), -EFAULT);
    REFUSED(list_raw(NULL, 1), -EFAULT);
    REFUSED(list_raw(rec, XEN_RSHADOW_MAX_WATCHES + 1), -E2BIG);
    REFUSED(read_raw(1, rec, 1), -EINVAL);
    REFUSED(read_raw(0, (char *)rec + 4, 1), -EFAULT);
    REFUSED(read_raw(0, rec, XEN_RSHADOW_RING_MAX + 1), -E2BIG);

    /* An unknown domain: Xen itself refuses. */
    op = (struct xen_domctl_rshadow_op){ .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS };
    REFUSED(rshadow_op_on(0x7fef, &op), -ESRCH);

    /* A record, then a read into memory we do not map: nothing is lost. */
    ACCESS_ONCE(page[8]) = 1;
    snapshot();
    REFUSED(read_raw(0, (void *)0x40000000, 4), -EFAULT);
    nr = ARRAY_SIZE(rec);
    EXPECT(rshadow_read(rec, &nr, NULL), 0);
    if ( nr != 1 || rec[0].kind != XEN_RSHADOW_REC_WRITE ||
         rec[0].linear != (unsigned long)&page[8] )
        xtf_failure("record lost or wrong after the failed read (%u)\n", nr);

    /* Steps are available on both platforms (MTF on VMX, TF on SVM). */
    EXPECT(rshadow_watch(FAR_GFN, 1, R, 8), 0);
    EXPECT(rshadow_unwatch(FAR_GFN, 1), 0);
    EXPECT(rshadow_unwatch(gfn, 1), 0);
}

static void test_full_table(void)
{
    unsigned int i;
    struct xen_rshadow_stats s;

    for ( i = 0; i < XEN_RSHADOW_MAX_WATCHES; i++ )
    {
        long rc = rshadow_watch(FAR_GFN + 2 * i, 1, R, 0);

        if ( rc )
        {
            xtf_failure("watch %u of %u: %ld\n", i, XEN_RSHADOW_MAX_WATCHES, rc);
            return;
        }
    }
    snapshot();
    REFUSED(rshadow_watch(FAR_GFN + 2 * i, 1, R, 0), -ENOSPC);
    EXPECT(rshadow_stats(&s), 0);
    if ( s.watches != XEN_RSHADOW_MAX_WATCHES ||
         s.watched_frames != XEN_RSHADOW_MAX_WATCHES )
        xtf_failure("stats: %llu watches, %llu frames\n",
                    (unsigned long long)s.watches,
                    (unsigned long long)s.watched_frames);

    /* Listing from an index, and the total. */
    {
        struct xen_rshadow_watch w[2];
        unsigned int nr = 2, total = 0;

        EXPECT(rshadow_list(w, &nr, 100, &total), 0);
        if ( nr != 2 || total != XEN_RSHADOW_MAX_WATCHES ||
             w[0].first_gfn != FAR_GFN + 200 )
            xtf_failure("list from 100: nr %u total %u first %#llx\n", nr,
                        total, (unsigned long long)w[0].first_gfn);
    }

    EXPECT(rshadow_reset(), 0);
    EXPECT(rshadow_stats(&s), 0);
    if ( s.watches || s.records )
        xtf_failure("reset left %llu watches, %llu records\n",
                    (unsigned long long)s.watches,
                    (unsigned long long)s.records);
}

void test_main(void)
{
    rshadow_require();

    test_before_enable();
    test_refusals();
    test_full_table();

    EXPECT(rshadow_disable(), 0);
    EXPECT(rshadow_disable(), -ENXIO);
    /* And again from the start: enable after disable works. */
    EXPECT(rshadow_enable(16), 0);
    EXPECT(rshadow_disable(), 0);

    xtf_success(NULL);
}
