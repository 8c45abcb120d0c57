/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rust-shadow's control interface (XEN_DOMCTL_rshadow_op), from dom0 on
 * itself.  The structures are Xen's public ones, from the patched tree.
 * Every call returns 0 or a negative errno.
 */
#ifndef XTF_RSHADOW_H
#define XTF_RSHADOW_H

#include <xtf/types.h>

#define __XEN_TOOLS__
#include <public/domctl.h>

/* The raw operation, on domain `domid` (0: ourselves). */
long rshadow_op_on(unsigned int domid, struct xen_domctl_rshadow_op *op);
long rshadow_op(struct xen_domctl_rshadow_op *op);

/*
 * True if the hypervisor has rust-shadow (stock Xen answers -ENOSYS to the
 * domctl).  Tests that need it call rshadow_require(), which reports SKIP
 * and ends the test when it is missing.
 */
bool rshadow_available(void);
void rshadow_require(void);

long rshadow_enable(unsigned int ring_records);
long rshadow_disable(void);
long rshadow_reset(void);
long rshadow_watch(uint64_t gfn, uint64_t nr, unsigned int access,
                   unsigned int steps);
long rshadow_unwatch(uint64_t gfn, uint64_t nr);
/* Copies up to *nr watches from index `start`; *nr becomes the count. */
long rshadow_list(struct xen_rshadow_watch *buf, unsigned int *nr,
                  unsigned int start, unsigned int *total);
/* Reads up to *nr records of vCPU 0; *nr becomes the count read. */
long rshadow_read(struct xen_rshadow_record *buf, unsigned int *nr,
                  uint64_t *lost);
/* The same for any vCPU of ours. */
long rshadow_read_vcpu(unsigned int vcpu, struct xen_rshadow_record *buf,
                       unsigned int *nr, uint64_t *lost);
long rshadow_stats(struct xen_rshadow_stats *stats);

/* Prints a record on the console, for failure reports. */
void rshadow_print_record(const struct xen_rshadow_record *r);

/*
 * Helpers the watch tests share.  rshadow_read_all() reads up to @cap
 * records of vCPU 0 and returns how many (0 if the read failed);
 * rshadow_dump() prints @nr of them.  rshadow_watch_only() drops every
 * watch, record and count (RESET), then watches @gfn alone, or ends the
 * test as ERROR naming @what.  rshadow_watch_flags() gives the flags of
 * the one watch, ~0 unless exactly one watch starting at @gfn is listed.
 */
unsigned int rshadow_read_all(struct xen_rshadow_record *buf, unsigned int cap);
void rshadow_dump(const struct xen_rshadow_record *r, unsigned int nr);
void rshadow_watch_only(uint64_t gfn, unsigned int access, unsigned int steps,
                        const char *what);
uint32_t rshadow_watch_flags(uint64_t gfn);
/*
 * Reads (and so consumes) vCPU 0's whole trace: the first @cap records
 * land in @buf; returns how many there were, or ~0 if a read failed.
 */
unsigned int rshadow_drain(struct xen_rshadow_record *buf, unsigned int cap);

#endif /* XTF_RSHADOW_H */
