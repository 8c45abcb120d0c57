/* SPDX-License-Identifier: GPL-2.0-only */
/**
 * @file tests/watch-notify/main.c
 * @brief The trace reader is signalled through an event channel when
 *        records wait, and only then.
 *
 * XEN_DOMCTL_RSHADOW_OP_NOTIFY gives an unbound event channel of the
 * traced domain (here ourselves, as dom0 tracing itself); the test binds
 * it, maps its shared_info to see the port's pending bit, and checks:
 * one record signals within the latency; a read that leaves records says
 * how many remain (READ_TRACE's @remaining); a drained trace is not
 * signalled again; the threshold signals; the settings are validated;
 * DISABLE closes Xen's end, and a new ENABLE and NOTIFY give a channel
 * that binds again.  The hvm64 environment only: the shared_info layout
 * read is the 64-bit one.
 */
#include <xtf.h>
#include <xtf/rshadow.h>
#include <public/event_channel.h>
#include <public/memory.h>

const char test_title[] = "Trace notification by event channel";

static uint32_t watched[PAGE_SIZE / 4] __page_bss;
/* Becomes the domain's shared_info: its RAM goes. */
static uint8_t shinfo[PAGE_SIZE] __page_bss;
static struct xen_rshadow_record recs[16];

#define EXPECT(call, want) do {                                         \
    long rc_ = (call);                                                  \
                                                                        \
    if ( rc_ != (want) )                                                \
        xtf_failure("%s: %ld, expected %ld\n", #call, rc_, (long)(want)); \
} while ( 0 )

/* Turns of the wait: each a hypercall, after which Xen runs its timers. */
#define WAIT_TURNS 200000

static long notify(uint32_t threshold, uint32_t latency_us, uint32_t *port)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_NOTIFY,
        .u.notify = { .threshold = threshold, .latency_us = latency_us },
    };
    long rc = rshadow_op(&op);

    if ( !rc && port )
        *port = op.u.notify.port;
    return rc;
}

static long evtchn_op(unsigned int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}

static volatile unsigned long *pending_word(unsigned int port)
{
    struct shared_info *s = (void *)shinfo;

    return &s->evtchn_pending[port / (8 * sizeof(unsigned long))];
}

static bool pending(unsigned int port)
{
    return *pending_word(port) & (1UL << (port % (8 * sizeof(unsigned long))));
}

static void clear_pending(unsigned int port)
{
    asm volatile ("lock btr %1, %0"
                  : "+m" (*pending_word(port))
                  : "r" ((unsigned long)(port % (8 * sizeof(unsigned long))))
                  : "memory");
}

/* Up to @turns yields; true once @port is pending. */
static bool wait_pending(unsigned int port, unsigned int turns)
{
    unsigned int i;

    for ( i = 0; i < turns && !pending(port); i++ )
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);

    return pending(port);
}

static unsigned int bind(uint32_t port)
{
    struct evtchn_bind_interdomain b = {
        .remote_dom = DOMID_SELF,
        .remote_port = port,
    };
    long rc = evtchn_op(EVTCHNOP_bind_interdomain, &b);

    if ( rc )
    {
        xtf_failure("cannot bind Xen's port %u: %ld\n", port, rc);
        return 0;
    }
    return b.local_port;
}

static void write_watched(unsigned int n)
{
    unsigned int i;

    for ( i = 0; i < n; i++ )
        ACCESS_ONCE(watched[i]) = i;
}

/* @n watched writes, then a signal on @lport within WAIT_TURNS yields. */
static void expect_signal(unsigned int lport, unsigned int n, const char *what)
{
    clear_pending(lport);
    write_watched(n);
    if ( !wait_pending(lport, WAIT_TURNS) )
        xtf_failure("%s: no signal after %u yields\n", what, WAIT_TURNS);
}

static void test_settings(void)
{
    uint32_t port;

    EXPECT(notify(0, 0, &port), -ENXIO);
    EXPECT(rshadow_enable(64), 0);
    EXPECT(notify(0, XEN_RSHADOW_NOTIFY_MIN_US - 1, &port), -EINVAL);
    EXPECT(notify(0, XEN_RSHADOW_NOTIFY_MAX_US + 1, &port), -E2BIG);
    EXPECT(notify(XEN_RSHADOW_RING_MAX + 1, 0, &port), -E2BIG);
}

void test_main(void)
{
    struct xen_add_to_physmap map = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = virt_to_gfn(shinfo),
    };
    struct evtchn_status st = { .dom = DOMID_SELF };
    uint32_t port = 0, again = 0;
    uint64_t lost;
    unsigned int lport, nr;

    rshadow_require();

    if ( hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &map) )
        return xtf_error("cannot map shared_info\n");

    test_settings();

    /* Four records signal at once; fewer after 1 ms. */
    EXPECT(notify(4, XEN_RSHADOW_NOTIFY_MIN_US, &port), 0);
    if ( !port )
        return xtf_failure("NOTIFY gave port 0\n");
    EXPECT(notify(4, XEN_RSHADOW_NOTIFY_MIN_US, &again), 0);
    if ( again != port )
        xtf_failure("a second NOTIFY gave port %u, the first %u\n", again, port);
    if ( !(lport = bind(port)) )
        return;
    rshadow_watch_only(virt_to_gfn(watched), XEN_RSHADOW_ACCESS_W, 0,
                       "the watched page");

    /* One record: signalled within the latency. */
    expect_signal(lport, 1, "one record");

    /* Read, the ring drained: nothing more to signal. */
    nr = ARRAY_SIZE(recs);
    EXPECT(rshadow_read(recs, &nr, &lost), 0);
    if ( nr != 1 )
        xtf_failure("read %u records, expected 1\n", nr);
    clear_pending(lport);
    if ( wait_pending(lport, 2000) )
        xtf_failure("signalled with no record waiting\n");

    /* The threshold; and a partial read says what remains. */
    expect_signal(lport, 6, "six records");
    {
        struct xen_domctl_rshadow_op op = {
            .op = XEN_DOMCTL_RSHADOW_OP_READ_TRACE,
            .u.trace = { .vcpu = 0, .nr = 2 },
        };

        set_xen_guest_handle(op.u.trace.buf, recs);
        EXPECT(rshadow_op(&op), 0);
        if ( op.u.trace.nr != 2 || op.u.trace.remaining != 4 )
            xtf_failure("read %u, %u remaining; expected 2 and 4\n",
                        op.u.trace.nr, op.u.trace.remaining);
    }
    rshadow_drain(recs, ARRAY_SIZE(recs));

    /* DISABLE closes Xen's end: ours is unbound again. */
    EXPECT(rshadow_disable(), 0);
    st.port = lport;
    EXPECT(evtchn_op(EVTCHNOP_status, &st), 0);
    if ( st.status != EVTCHNSTAT_unbound )
        xtf_failure("after DISABLE our end's status is %u, not unbound\n",
                    st.status);
    {
        struct evtchn_close c = { .port = lport };

        EXPECT(evtchn_op(EVTCHNOP_close, &c), 0);
    }

    /* A new ENABLE and NOTIFY: a channel that binds and signals. */
    EXPECT(rshadow_enable(64), 0);
    EXPECT(notify(0, 0, &port), 0);
    if ( !(lport = bind(port)) )
        return;
    rshadow_watch_only(virt_to_gfn(watched), XEN_RSHADOW_ACCESS_W, 0,
                       "the watched page");
    expect_signal(lport, 1, "after re-enabling");

    rshadow_disable();
    xtf_success(NULL);
}
