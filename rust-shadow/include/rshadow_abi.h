/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rshadow_abi.h: the one ABI between Xen's C glue and the rust-shadow module.
 *
 * Xen's glue includes this file; the module's build generates its Rust view
 * from it with bindgen, so a change here that the Rust side does not follow
 * fails to build instead of failing at run time.
 *
 * Rules for this file:
 *  - structures hold fixed-width integers only (no enums, no bool, no
 *    pointers to Xen-internal types), so both sides agree on every byte;
 *  - "rshadow_xen_*" functions are leaf services Xen implements for Rust;
 *    every other function is implemented in Rust and called from C.
 */
#ifndef RSHADOW_ABI_H
#define RSHADOW_ABI_H

#ifdef __XEN__
#include <xen/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

#define RSHADOW_ABI_VERSION 1

/* Log levels of rshadow_xen_log(): the first four in Xen's XENLOG_* order. */
#define RSHADOW_LOG_ERR     0
#define RSHADOW_LOG_WARNING 1
#define RSHADOW_LOG_INFO    2
#define RSHADOW_LOG_DEBUG   3
#define RSHADOW_LOG_NOTICE  4 /* No level prefix, like Xen's boot messages. */
#define RSHADOW_LOG_LEVEL_MASK 0xffu
/* Or-ed into the level when a guest caused the line: Xen rate-limits it. */
#define RSHADOW_LOG_GUEST   (1u << 8)

/* struct rshadow_platform.hvm: which HVM implementation Xen started. */
#define RSHADOW_HVM_NONE 0
#define RSHADOW_HVM_VMX  1
#define RSHADOW_HVM_SVM  2

/* struct rshadow_platform.flags */
#define RSHADOW_PLAT_MTF    (1u << 0) /* VMX Monitor Trap Flag usable. */
#define RSHADOW_PLAT_HAP    (1u << 1) /* Hardware-assisted paging usable. */
#define RSHADOW_PLAT_SHADOW (1u << 2) /* Built with shadow paging. */

/* What Xen found at boot; passed once to rshadow_boot(). */
struct rshadow_platform {
    uint32_t abi_version;     /* RSHADOW_ABI_VERSION of the caller. */
    uint32_t hvm;             /* RSHADOW_HVM_* */
    uint32_t flags;           /* RSHADOW_PLAT_* */
    uint32_t pad;
};

/* ---- Implemented in Rust ---- */

/*
 * Called once from an initcall after HVM support has been set up.  Returns 0,
 * or -EINVAL if the caller's ABI version does not match the module's.
 */
int32_t rshadow_boot(const struct rshadow_platform *plat);

/* ---- Leaf services implemented by Xen ---- */

/*
 * Print one line (msg holds no newline) at an RSHADOW_LOG_* level, optionally
 * or-ed with RSHADOW_LOG_GUEST.
 */
void rshadow_xen_log(uint32_t level, const char *msg, size_t len);

/* Xen's system time, in nanoseconds. */
uint64_t rshadow_xen_now(void);

/* End in Xen's panic(); never returns. */
__attribute__((__noreturn__))
void rshadow_xen_panic(const char *msg, size_t len);

#endif /* RSHADOW_ABI_H */
