/* SPDX-License-Identifier: GPL-2.0-only */
#include <xtf.h>
#include <xtf/rshadow.h>

long rshadow_op_on(unsigned int domid, struct xen_domctl_rshadow_op *op)
{
    struct xen_domctl d = {
        .cmd = XEN_DOMCTL_rshadow_op,
        .interface_version = XEN_DOMCTL_INTERFACE_VERSION,
        .domain = domid,
    };
    long rc;

    d.u.rshadow_op = *op;
    /* This interface's version, unless the caller tests another. */
    if ( !d.u.rshadow_op.version )
        d.u.rshadow_op.version = XEN_RSHADOW_INTERFACE_VERSION;
    rc = hypercall1(__HYPERVISOR_domctl, &d);
    *op = d.u.rshadow_op;
    return rc;
}

long rshadow_op(struct xen_domctl_rshadow_op *op)
{
    return rshadow_op_on(0, op);
}

bool rshadow_available(void)
{
    struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS };

    return rshadow_op(&op) != -ENOSYS;
}

void rshadow_require(void)
{
    if ( !rshadow_available() )
    {
        xtf_skip("rust-shadow is not in this hypervisor (XEN_DOMCTL_rshadow_op: -ENOSYS)\n");
        xtf_exit();
    }
}

long rshadow_enable(unsigned int ring_records)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_ENABLE,
        .u.enable.ring_records = ring_records,
    };

    return rshadow_op(&op);
}

long rshadow_disable(void)
{
    struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_DISABLE };

    return rshadow_op(&op);
}

long rshadow_reset(void)
{
    struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_RESET };

    return rshadow_op(&op);
}

static long watch_op(unsigned int cmd, uint64_t gfn, uint64_t nr,
                     unsigned int access, unsigned int steps)
{
    struct xen_domctl_rshadow_op op = {
        .op = cmd,
        .u.watch = {
            .first_gfn = gfn,
            .nr_frames = nr,
            .access = access,
            .steps = steps,
        },
    };

    return rshadow_op(&op);
}

long rshadow_watch(uint64_t gfn, uint64_t nr, unsigned int access,
                   unsigned int steps)
{
    return watch_op(XEN_DOMCTL_RSHADOW_OP_ADD_WATCH, gfn, nr, access, steps);
}

long rshadow_unwatch(uint64_t gfn, uint64_t nr)
{
    return watch_op(XEN_DOMCTL_RSHADOW_OP_REMOVE_WATCH, gfn, nr, 0, 0);
}

long rshadow_list(struct xen_rshadow_watch *buf, unsigned int *nr,
                  unsigned int start, unsigned int *total)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_LIST_WATCHES,
        .u.list = { .nr = *nr, .start = start },
    };
    long rc;

    set_xen_guest_handle(op.u.list.buf, buf);
    rc = rshadow_op(&op);
    if ( !rc )
    {
        *nr = op.u.list.nr;
        if ( total )
            *total = op.u.list.total;
    }
    return rc;
}

long rshadow_read(struct xen_rshadow_record *buf, unsigned int *nr,
                  uint64_t *lost)
{
    return rshadow_read_vcpu(0, buf, nr, lost);
}

long rshadow_read_vcpu(unsigned int vcpu, struct xen_rshadow_record *buf,
                       unsigned int *nr, uint64_t *lost)
{
    struct xen_domctl_rshadow_op op = {
        .op = XEN_DOMCTL_RSHADOW_OP_READ_TRACE,
        .u.trace = { .vcpu = vcpu, .nr = *nr },
    };
    long rc;

    set_xen_guest_handle(op.u.trace.buf, buf);
    rc = rshadow_op(&op);
    if ( !rc )
    {
        *nr = op.u.trace.nr;
        if ( lost )
            *lost = op.u.trace.lost;
    }
    return rc;
}

long rshadow_stats(struct xen_rshadow_stats *stats)
{
    struct xen_domctl_rshadow_op op = { .op = XEN_DOMCTL_RSHADOW_OP_GET_STATS };
    long rc = rshadow_op(&op);

    if ( !rc )
        *stats = op.u.stats;
    return rc;
}

void rshadow_print_record(const struct xen_rshadow_record *r)
{
    static const char *const kinds[] = {
        "?", "read", "write", "rmw", "exec", "step", "error", "yield",
    };

    printk("  #%llu %s rip %#llx lin %#llx gfn %#llx size %u val %#llx fl %#x extra %u cr3 %#llx\n",
           (unsigned long long)r->seq,
           r->kind < ARRAY_SIZE(kinds) ? kinds[r->kind] : "?",
           (unsigned long long)r->rip, (unsigned long long)r->linear,
           (unsigned long long)r->gfn, r->size,
           (unsigned long long)r->value, r->flags, r->extra,
           (unsigned long long)r->cr3);
}

unsigned int rshadow_read_all(struct xen_rshadow_record *buf, unsigned int cap)
{
    unsigned int nr = cap;

    return rshadow_read(buf, &nr, NULL) ? 0 : nr;
}

void rshadow_dump(const struct xen_rshadow_record *r, unsigned int nr)
{
    unsigned int i;

    for ( i = 0; i < nr; i++ )
        rshadow_print_record(&r[i]);
}

void rshadow_watch_only(uint64_t gfn, unsigned int access, unsigned int steps,
                        const char *what)
{
    if ( rshadow_reset() || rshadow_watch(gfn, 1, access, steps) )
    {
        xtf_error("cannot watch %s (access %#x)\n", what, access);
        xtf_exit();
    }
}

uint32_t rshadow_watch_flags(uint64_t gfn)
{
    struct xen_rshadow_watch w;
    unsigned int n = 1, total;

    if ( rshadow_list(&w, &n, 0, &total) || n != 1 || total != 1 ||
         w.first_gfn != gfn )
        return ~0u;
    return w.flags;
}

unsigned int rshadow_drain(struct xen_rshadow_record *buf, unsigned int cap)
{
    static struct xen_rshadow_record rest[32];
    unsigned int nr = cap, total;

    if ( rshadow_read(buf, &nr, NULL) )
        return ~0u;
    for ( total = nr; nr; total += nr )
    {
        nr = ARRAY_SIZE(rest);
        if ( rshadow_read(rest, &nr, NULL) )
            return ~0u;
    }
    return total;
}
