/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A second domain, built by the test kernel (dom0) itself: a small HVM
 * guest on shadow paging with one vCPU, RAM from frame 0, PVH-style
 * emulation (local APIC only), a code blob of up to 128 bytes loaded into
 * its RAM, and its vCPU started in flat 32-bit protected mode with paging
 * off, as libxc's PVH builder starts a guest.  Then shut down and
 * destroyed.
 *
 * Every function returns 0 (or a count) or a negative errno, and prints
 * which hypercall failed and why on the console.
 */
#ifndef XTF_DOMU_H
#define XTF_DOMU_H

#include <xtf/types.h>

#define __XEN_TOOLS__
#include <public/domctl.h>

struct domu_config {
    unsigned long ram_pages;    /* RAM at frames 0 .. ram_pages - 1 */
    unsigned int shadow_mb;     /* shadow pool (Xen raises it to its minimum) */
    const void *blob;           /* code, copied to load_gfn:load_off */
    size_t blob_size;           /* at most 128 bytes, within the page */
    unsigned long load_gfn;
    size_t load_off;
    uint32_t entry;             /* guest physical address of the first insn */
};

/*
 * Creates, fills and readies the domain, leaving it paused; *domid is its
 * id.  Whatever was built is destroyed again if a step fails.
 */
long domu_create(const struct domu_config *cfg, unsigned int *domid);

long domu_pause(unsigned int domid);
long domu_unpause(unsigned int domid);

/* XEN_DOMCTL_getdomaininfo of exactly this domain: -ESRCH once it is gone. */
long domu_info(unsigned int domid, struct xen_domctl_getdomaininfo *info);

/* SCHEDOP_remote_shutdown with a SHUTDOWN_* reason. */
long domu_shutdown(unsigned int domid, unsigned int reason);

/* XEN_DOMCTL_destroydomain, repeated while Xen asks to be called again. */
long domu_destroy(unsigned int domid);

/*
 * Waits, yielding, until the destroyed domain has left Xen's domain list
 * (its last reference dropped); false if it is still there, a zombie.
 */
bool domu_wait_gone(unsigned int domid);

/* A negative errno's name, for messages. */
const char *domu_errname(long rc);

#endif /* XTF_DOMU_H */
