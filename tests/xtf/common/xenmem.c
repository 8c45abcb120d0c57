/* SPDX-License-Identifier: GPL-2.0-only */
#include <xtf.h>
#include <xtf/xenmem.h>

#define __XEN_TOOLS__
#include <public/sysctl.h>

#define __HYPERVISOR_sysctl 35

long xen_free_pages(void)
{
    struct xen_sysctl s = {
        .cmd = XEN_SYSCTL_physinfo,
        .interface_version = XEN_SYSCTL_INTERFACE_VERSION,
    };
    long rc = hypercall1(__HYPERVISOR_sysctl, &s);

    return rc ? rc : (long)s.u.physinfo.free_pages;
}

long xen_free_pages_settle(long expect)
{
    long last = xen_free_pages(), now;
    unsigned int still = 0, i;

    /*
     * A few hundred yields are enough for Xen's RCU to run its callbacks
     * on an idle host; on a loaded one an emulated CPU may not reach its
     * quiescent state for thousands (a page was still pending after 200
     * unchanged readings in a CI run).  Only a real leak waits it out.
     */
    for ( i = 0; i < 20000 && last != expect && still < 5000; i++ )
    {
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, NULL);
        now = xen_free_pages();
        still = now == last ? still + 1 : 0;
        last = now;
    }
    return last;
}
