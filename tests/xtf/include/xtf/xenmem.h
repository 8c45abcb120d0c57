/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What Xen says of its own memory, for tests that prove nothing leaks.
 */
#ifndef XTF_XENMEM_H
#define XTF_XENMEM_H

#include <xtf/types.h>

/*
 * Xen's free pages (XEN_SYSCTL_physinfo), or a negative errno.  Memory the
 * hypervisor frees through RCU (a destroyed domain's) comes back a little
 * later: xen_free_pages_settle() polls, yielding, until the figure reaches
 * @expect or stops moving, and returns the last figure read.
 */
long xen_free_pages(void);
long xen_free_pages_settle(long expect);

#endif /* XTF_XENMEM_H */
