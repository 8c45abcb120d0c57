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
 *    every other function is implemented in Rust and called from C;
 *  - the module keeps no global state: everything lives in the per-domain
 *    and per-vCPU blocks below, which Xen allocates and frees.
 */
#ifndef RSHADOW_ABI_H
#define RSHADOW_ABI_H

#ifdef __XEN__
#include <xen/types.h>
#else
#include <stddef.h>
#include <stdint.h>
#endif

/*
 * The ABI version: raised on every change that either side must follow.
 * Xen's glue refuses at build time a header of another version, and
 * references RSHADOW_ABI_SYMBOL, which the module defines under a name
 * that carries its version: a library built for another ABI leaves it
 * undefined and Xen's link fails.  rshadow_boot() checks again at run time.
 */
#define RSHADOW_ABI_VERSION 8
#define RSHADOW_ABI_SYMBOL  rshadow_abi_v8

/* The module's RSHADOW_ABI_VERSION; see above. */
extern const uint32_t RSHADOW_ABI_SYMBOL;

/* ---- Logging ---- */

/* Log levels of rshadow_xen_log(): the first four in Xen's XENLOG_* order. */
#define RSHADOW_LOG_ERR     0
#define RSHADOW_LOG_WARNING 1
#define RSHADOW_LOG_INFO    2
#define RSHADOW_LOG_DEBUG   3
#define RSHADOW_LOG_NOTICE  4 /* No level prefix, like Xen's boot messages. */
#define RSHADOW_LOG_LEVEL_MASK 0xffu
/* Or-ed into the level when a guest caused the line: Xen rate-limits it. */
#define RSHADOW_LOG_GUEST   (1u << 8)

/* ---- Boot ---- */

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

/* ---- Watches and records (mirrored by the public domctl interface) ---- */

/* Access kinds a watch traps (same values as XEN_RSHADOW_ACCESS_*). */
#define RSHADOW_ACCESS_R (1u << 0)
#define RSHADOW_ACCESS_W (1u << 1)
#define RSHADOW_ACCESS_X (1u << 2)

/* Limits (same values as the public XEN_RSHADOW_* limits). */
#define RSHADOW_MAX_WATCHES      4096   /* ranges per domain */
#define RSHADOW_MAX_WATCH_FRAMES (1u << 20) /* frames per range */
#define RSHADOW_MAX_STEPS        4096   /* step budget per access */
#define RSHADOW_RING_MIN         16     /* records per vCPU ring ... */
#define RSHADOW_RING_MAX         65536  /* ... a power of two */
/* All of a domain's rings together (Xen's heap, unaccounted): 64 MiB. */
#define RSHADOW_MAX_RING_BYTES   (64u << 20)

/* struct rshadow_record.kind */
#define RSHADOW_REC_READ  1   /* data read */
#define RSHADOW_REC_WRITE 2   /* data write */
#define RSHADOW_REC_RMW   3   /* atomic read-modify-write (value: new) */
#define RSHADOW_REC_EXEC  4   /* instruction fetch (value: first bytes) */
#define RSHADOW_REC_STEP  5   /* one single-stepped instruction */
#define RSHADOW_REC_ERROR 6   /* a watched access rust-shadow gave up on */
#define RSHADOW_REC_YIELD 7   /* a window closed early for a held interrupt */

/* struct rshadow_record.flags */
#define RSHADOW_RECF_VALUE    (1u << 0) /* value is valid */
#define RSHADOW_RECF_STRADDLE (1u << 1) /* access crosses a page boundary */
#define RSHADOW_RECF_FAILED   (1u << 2) /* cmpxchg compare failed */
#define RSHADOW_RECF_EMULATED (1u << 3) /* step completed by Xen: no MTF exit */
#define RSHADOW_RECF_NATIVE   (1u << 4) /* error: run natively, watch kept */

/* struct rshadow_record.mode: CPU mode, with the CPL in bits 4-5. */
#define RSHADOW_MODE_REAL   1
#define RSHADOW_MODE_VM86   2
#define RSHADOW_MODE_PROT16 3
#define RSHADOW_MODE_PROT32 4
#define RSHADOW_MODE_LONG64 5
#define RSHADOW_MODE_CPL_SHIFT 4

/* struct rshadow_record.extra for RSHADOW_REC_ERROR: what happened. */
#define RSHADOW_ERR_UNHANDLEABLE  1 /* neither of Xen's emulators could */
#define RSHADOW_ERR_EVENT         2 /* access during event delivery */
#define RSHADOW_ERR_EXCEPTION     3 /* emulation raised an unexpected event */
#define RSHADOW_ERR_BREAKPOINT    4 /* the guest has a data breakpoint on */

/*
 * One trace record: 72 bytes, identical in layout to the public struct
 * xen_rshadow_record (the glue checks that at build time).
 */
struct rshadow_record {
    uint64_t seq;      /* Per-vCPU sequence number; gaps are drops. */
    uint64_t time;     /* Xen system time, ns. */
    uint64_t rip;      /* Access: the emulated instruction.  Step: the
                          instruction stepped. */
    uint64_t linear;   /* Access: linear address.  Step: the instruction
                          the guest runs next. */
    uint64_t gfn;      /* Access: guest frame. */
    uint64_t value;    /* Access: the value, if RSHADOW_RECF_VALUE. */
    uint64_t rflags;   /* RFLAGS after the access or step. */
    uint64_t cr3;      /* The address space: the guest's CR3 as the record
                          is written, flag and PCID bits masked (see
                          rshadow_xen_guest_cr3()); 0 with paging off. */
    uint16_t vcpu;
    uint8_t kind;      /* RSHADOW_REC_* */
    uint8_t size;      /* Access size in bytes. */
    uint8_t mode;      /* RSHADOW_MODE_* | cpl << RSHADOW_MODE_CPL_SHIFT */
    uint8_t flags;     /* RSHADOW_RECF_* */
    uint16_t extra;    /* Step: index within its window.  Error: RSHADOW_ERR_*.
                          Yield: steps recorded in the window. */
};

/* One watch as the control interface lists it. */
struct rshadow_watch_info {
    uint64_t first_gfn;
    uint64_t nr_frames;
    uint32_t access;       /* RSHADOW_ACCESS_* */
    uint32_t steps;
    uint32_t flags;        /* RSHADOW_WATCHF_* */
    uint32_t pad;
};
#define RSHADOW_WATCHF_DISABLED (1u << 0) /* switched off after an error */
#define RSHADOW_WATCHF_GONE     (1u << 1) /* ... or as a frame left the p2m */

/* Statistics (same layout as the public struct xen_rshadow_stats). */
struct rshadow_stats {
    uint64_t watched_faults;   /* faults on watched frames */
    uint64_t emulated;         /* of which emulated successfully */
    uint64_t records;          /* records written to the rings */
    uint64_t dropped;          /* records dropped because a ring was full */
    uint64_t steps;            /* single-steps recorded */
    uint64_t errors;           /* watched accesses no emulator could do */
    uint64_t watches;          /* ranges currently watched */
    uint64_t watched_frames;   /* frames in those ranges */
    uint64_t fast_faults;      /* watched faults that took the fast path */
    uint64_t continuations;    /* control calls continued (filled by Xen) */
};

/* ---- Per-domain and per-vCPU state ---- */

/*
 * Opaque blocks the module keeps its state in.  Xen allocates them with at
 * least these sizes and this alignment (the module checks at compile time
 * that its state fits) and passes them to every call.
 */
#define RSHADOW_DOMAIN_STATE_SIZE (296u * 1024)
#define RSHADOW_VCPU_STATE_SIZE   512u
#define RSHADOW_STATE_ALIGN       64u
struct rshadow_domain;
struct rshadow_vcpu;

/* Facts about a domain, gathered by Xen for the control validators. */
struct rshadow_dom_facts {
    uint32_t domid;
    uint32_t flags;        /* RSHADOW_DOMF_* */
    uint32_t hvm;          /* RSHADOW_HVM_* of the platform */
    uint32_t nr_vcpus;
    uint64_t max_gfn;      /* Highest frame the domain's p2m maps. */
    uint64_t xen_handle;   /* struct domain *, for the leaf services. */
};
#define RSHADOW_DOMF_HVM     (1u << 0)
#define RSHADOW_DOMF_HAP     (1u << 1)
#define RSHADOW_DOMF_STEP    (1u << 2) /* Stepping possible (MTF, or TF on SVM). */
#define RSHADOW_DOMF_ENABLED (1u << 3) /* rust-shadow is on for it. */

/* Control operations (same values as XEN_DOMCTL_RSHADOW_OP_*). */
#define RSHADOW_OP_ENABLE        1
#define RSHADOW_OP_DISABLE       2
#define RSHADOW_OP_ADD_WATCH     3
#define RSHADOW_OP_REMOVE_WATCH  4
#define RSHADOW_OP_LIST_WATCHES  5
#define RSHADOW_OP_READ_TRACE    6
#define RSHADOW_OP_GET_STATS     7
#define RSHADOW_OP_RESET         8
#define RSHADOW_OP_NOTIFY        9

/* A control request, copied by Xen from the caller's domctl. */
struct rshadow_ctl {
    uint32_t op;           /* RSHADOW_OP_* */
    uint32_t vcpu;         /* READ_TRACE */
    uint64_t first_gfn;    /* ADD/REMOVE_WATCH */
    uint64_t nr_frames;    /* ADD/REMOVE_WATCH */
    uint32_t access;       /* ADD_WATCH */
    uint32_t steps;        /* ADD_WATCH */
    uint32_t nr;           /* ENABLE: ring records; LIST/READ: capacity */
    uint32_t start;        /* LIST_WATCHES: first index */
    uint64_t buf;          /* LIST/READ: guest buffer (linear address) */
    uint32_t flags;        /* Must be 0. */
    uint32_t pad;          /* Must be 0. */
    uint32_t version;      /* RSHADOW_INTERFACE_VERSION */
    uint32_t pad2;         /* Must be 0. */
    uint32_t threshold;    /* NOTIFY: records (0: half the ring) */
    uint32_t latency_us;   /* NOTIFY: microseconds (0: the default) */
};
/* NOTIFY's latency bounds and default (XEN_RSHADOW_NOTIFY_*_US). */
#define RSHADOW_NOTIFY_MIN_US     1000
#define RSHADOW_NOTIFY_MAX_US     1000000
#define RSHADOW_NOTIFY_DEFAULT_US 10000
/* The public interface's version (XEN_RSHADOW_INTERFACE_VERSION). */
#define RSHADOW_INTERFACE_VERSION 2

/*
 * Checks a control request against the domain's facts and state without
 * changing anything.  dom is NULL while the domain is not enabled.
 * Returns 0 or a negative errno (the table in README.md).
 */
int32_t rshadow_ctl_check(const struct rshadow_domain *dom,
                          const struct rshadow_dom_facts *facts,
                          const struct rshadow_ctl *req);

/*
 * rshadow_ctl_check() in bounded pieces, for a caller that can continue
 * later (a hypercall continuation): an ADD_WATCH's RAM check covers at most
 * RSHADOW_RAM_CHECK_BATCH frames per call, starting *done frames into the
 * range, and advances *done.  Returns RSHADOW_CTL_MORE while frames remain
 * (every other check has passed), else as rshadow_ctl_check() (0 once the
 * last frame is checked).  Other requests are checked whole.
 */
#define RSHADOW_RAM_CHECK_BATCH 4096
#define RSHADOW_CTL_MORE        1
int32_t rshadow_ctl_check_bounded(const struct rshadow_domain *dom,
                                  const struct rshadow_dom_facts *facts,
                                  const struct rshadow_ctl *req,
                                  uint64_t *done);

/* Sets up fresh state blocks (ENABLE, after rshadow_ctl_check). */
void rshadow_domain_init(struct rshadow_domain *dom,
                         const struct rshadow_dom_facts *facts);
/*
 * ring points to `records` records (a valid ring size) that stay allocated
 * until the vCPU block is freed.
 */
void rshadow_vcpu_init(struct rshadow_vcpu *vcpu, uint32_t vcpu_id,
                       struct rshadow_record *ring, uint32_t records);

/*
 * Applies ADD_WATCH, REMOVE_WATCH or RESET (which removes every watch and
 * empties the trace) with the paging lock held, judged by the domain's
 * facts as they are now (those rshadow_ctl_check() was given).  Fills
 * *revoke with the frame range whose shadow mappings Xen must now revoke
 * (nr_frames 0 if none).  Returns 0 or a negative errno; on error nothing
 * changed.
 */
struct rshadow_revoke {
    uint64_t first_gfn;
    uint64_t nr_frames;
};
int32_t rshadow_ctl_apply(struct rshadow_domain *dom,
                          const struct rshadow_dom_facts *facts,
                          const struct rshadow_ctl *req,
                          struct rshadow_revoke *revoke);

/* Number of watch ranges, and copies up to `max` of them from `start`. */
uint32_t rshadow_watch_count(const struct rshadow_domain *dom);
uint32_t rshadow_watch_list(const struct rshadow_domain *dom, uint32_t start,
                            struct rshadow_watch_info *out, uint32_t max);

/*
 * Copies up to `max` waiting records of a vCPU's ring, `skip` records after
 * the oldest, without consuming them; rshadow_trace_consume() releases them
 * once Xen has copied them out.  rshadow_trace_dropped() returns and resets
 * the drop count.
 */
uint32_t rshadow_trace_peek(const struct rshadow_vcpu *vcpu, uint32_t skip,
                            struct rshadow_record *out, uint32_t max);
uint32_t rshadow_trace_len(const struct rshadow_vcpu *vcpu);
void rshadow_trace_consume(const struct rshadow_vcpu *vcpu, uint32_t n);
uint64_t rshadow_trace_dropped(const struct rshadow_vcpu *vcpu);
void rshadow_trace_clear(const struct rshadow_vcpu *vcpu);

/* Adds a vCPU's counters into *stats. */
void rshadow_vcpu_stats(const struct rshadow_vcpu *vcpu,
                        struct rshadow_stats *stats);
/* Fills the domain-wide fields of *stats (watches, watched_frames). */
void rshadow_domain_stats(const struct rshadow_domain *dom,
                          struct rshadow_stats *stats);

/*
 * Parses the rshadow= command-line option (see the module's cmdline.rs)
 * into `max` requests: an ENABLE, then one ADD_WATCH per watch.  Returns
 * how many, or -EINVAL (with a console line) for a malformed option.
 */
int32_t rshadow_cmdline_parse(const char *opt, size_t len,
                              struct rshadow_ctl *out, uint32_t max);

/* ---- The shadow fault path ---- */

/*
 * _sh_propagate(): the shadow L1 flags for a guest frame.  Called only
 * while the domain has watches, with the paging lock held; returns `flags`
 * with _PAGE_PRESENT or _PAGE_RW cleared as the frame's watch requires.
 */
#define RSHADOW_PTE_PRESENT (1u << 0)
#define RSHADOW_PTE_RW      (1u << 1)
uint32_t rshadow_l1_flags(const struct rshadow_domain *dom, uint64_t gfn,
                          uint32_t flags);

/* x86 #PF error code bits, as sh_page_fault() sees them. */
#define RSHADOW_PFEC_PRESENT (1u << 0)
#define RSHADOW_PFEC_WRITE   (1u << 1)
#define RSHADOW_PFEC_USER    (1u << 2)
#define RSHADOW_PFEC_FETCH   (1u << 4)

/*
 * A watched fault in flight: filled by rshadow_fault_check(), then by Xen
 * with the accesses x86_emulate made, then read by rshadow_emulation_tail().
 */
#define RSHADOW_MAX_ACCESSES 8
struct rshadow_access {
    uint64_t linear;
    uint64_t gfn;          /* Frame of the first byte. */
    uint64_t value;        /* Up to 8 bytes, little endian. */
    uint8_t kind;          /* RSHADOW_REC_READ/WRITE/RMW/EXEC */
    uint8_t size;
    uint8_t flags;         /* RSHADOW_RECF_* */
    uint8_t pad[5];
    uint64_t gfn_last;     /* Frame of the last byte. */
};
struct rshadow_fault {
    uint64_t gfn;          /* Faulting frame. */
    uint64_t va;           /* Faulting linear address. */
    uint64_t rip;          /* Instruction, before emulation. */
    uint32_t pfec;         /* RSHADOW_PFEC_* */
    uint32_t access;       /* The watch's active RSHADOW_ACCESS_* */
    uint32_t steps;        /* The watch's step budget. */
    uint8_t mode;          /* RSHADOW_MODE_* | cpl << RSHADOW_MODE_CPL_SHIFT */
    uint8_t nr_accesses;
    uint8_t overflow;      /* Accesses beyond RSHADOW_MAX_ACCESSES. */
    uint8_t flags;         /* RSHADOW_FAULTF_* */
    uint64_t watch_id;     /* The watch's id: its index may shift once the
                              paging lock is dropped, its id never does. */
    struct rshadow_access accesses[RSHADOW_MAX_ACCESSES];
};
/* Some watch traps fetches: note the emulated instruction's fetches too. */
#define RSHADOW_FAULTF_FETCHES (1u << 0)
/* Set by Xen: the fault took the fast path (a repeat of the last one). */
#define RSHADOW_FAULTF_FAST    (1u << 1)

/*
 * sh_page_fault(), after the shadow entry is propagated, with the paging
 * lock held: returns 1 and fills *fault if the fault hit a frame whose
 * shadow entry is hidden by a watch, so it must be emulated; 0 otherwise.
 */
int32_t rshadow_fault_check(const struct rshadow_domain *dom, uint64_t gfn,
                            uint64_t va, uint32_t pfec,
                            struct rshadow_fault *fault);

/* x86_emulate() results (X86EMUL_*) and event types the tail tells apart. */
#define RSHADOW_EMUL_OKAY           0
#define RSHADOW_EMUL_UNHANDLEABLE   1
#define RSHADOW_EMUL_EXCEPTION      2
#define RSHADOW_EMUL_RETRY          3
#define RSHADOW_EMUL_DONE           4
#define RSHADOW_EMUL_UNIMPLEMENTED  5
#define RSHADOW_EMUL_CMPXCHG_FAILED 7
#define RSHADOW_EVENT_HW_EXCEPTION  3 /* X86_EVENTTYPE_HW_EXCEPTION */
#define RSHADOW_VEC_GP              13
#define RSHADOW_VEC_SS              12
#define RSHADOW_VEC_PF              14

/* What sh_page_fault() knows after x86_emulate() returned. */
struct rshadow_tail_in {
    int32_t rc;            /* RSHADOW_EMUL_* */
    uint8_t event_type;    /* ctxt.event.type, when rc is EXCEPTION */
    uint8_t event_vector;
    uint8_t fast_emul;     /* Reached through the fast-emulation path. */
    uint8_t is_pt;         /* sh_mfn_is_a_page_table(gmfn) */
    int32_t event_error_code;
    uint8_t singlestep;    /* ctxt.retire.singlestep: the guest's own TF */
    uint8_t retire_raw;    /* ctxt.retire.raw != 0 */
    uint8_t guest_levels;  /* GUEST_PAGING_LEVELS of this shadow mode */
    uint8_t watched;       /* The fault was a watched one (*fault valid). */
    uint32_t pad;
    uint64_t rip;          /* Guest RIP after the emulation. */
    uint64_t rflags;       /* Guest RFLAGS after the emulation. */
};

/* What Xen does next: a set of RSHADOW_TAIL_* actions. */
#define RSHADOW_TAIL_INJECT_EVENT (1u << 0) /* hvm_inject_event(ctxt.event) */
#define RSHADOW_TAIL_UNSHADOW     (1u << 1) /* shadow_remove_all_shadows(gmfn) */
#define RSHADOW_TAIL_FAST_FAIL    (1u << 2) /* last_write_emul_ok = 0 */
#define RSHADOW_TAIL_FAST_RECORD  (1u << 3) /* remember frame for fast path */
#define RSHADOW_TAIL_INJECT_DB    (1u << 4) /* #DB for the guest's own TF */
#define RSHADOW_TAIL_PAE_EXTRA    (1u << 5) /* try the PAE second half */
#define RSHADOW_TAIL_FAILED       (1u << 6) /* emulation failed: skip to done */
#define RSHADOW_TAIL_DISABLE      (1u << 7) /* rshadow_watch_disable(fault) */
#define RSHADOW_TAIL_STEP         (1u << 8) /* arm stepping (steps below) */
struct rshadow_tail_out {
    uint32_t actions;      /* RSHADOW_TAIL_* */
    uint32_t steps;        /* With RSHADOW_TAIL_STEP: the budget of the
                              watch that recorded the access, as the
                              table stands at the tail (another vCPU may
                              have changed it since the fault). */
};

/*
 * The emulation tail of sh_page_fault(): decides, from the emulation's
 * outcome, what Xen does next, and records a watched fault's accesses.
 * vcpu is NULL when the domain is not enabled; fault is NULL unless
 * in->watched.  Called with the paging lock held when in->watched.
 */
void rshadow_emulation_tail(const struct rshadow_vcpu *vcpu,
                            const struct rshadow_domain *dom,
                            const struct rshadow_fault *fault,
                            const struct rshadow_tail_in *in,
                            struct rshadow_tail_out *out);

/*
 * The same decision for a fault on an unwatched frame, from scalars (no
 * structure to build: this is on every emulated page-table write).
 * event is type << 8 | vector and matters, with error_code, only when rc
 * is RSHADOW_EMUL_EXCEPTION; flags are RSHADOW_TAILF_*, of which
 * RSHADOW_TAILF_PT (the frame is a page table) matters only when rc is
 * RSHADOW_EMUL_OKAY.  The caller need look only then.
 */
#define RSHADOW_TAILF_FAST       (1u << 0)
#define RSHADOW_TAILF_PT         (1u << 1)
#define RSHADOW_TAILF_SINGLESTEP (1u << 2)
#define RSHADOW_TAILF_RAW        (1u << 3)
#define RSHADOW_TAILF_LEVELS_SHIFT 8
uint32_t rshadow_tail_decide(int32_t rc, uint32_t event, int32_t error_code,
                             uint32_t flags);

/*
 * One more instruction of the PAE second-half search: in->rc is its
 * result, in->retire_raw and in->singlestep as above; in->is_pt says
 * whether it wrote a page table (last_write_was_pt).  Returns 1 to go on,
 * 0 to stop; *actions gets RSHADOW_PAE_* and RSHADOW_TAIL_INJECT_DB.
 */
#define RSHADOW_PAE_COUNTED (1u << 16) /* One more emulated: count it. */
#define RSHADOW_PAE_PT      (1u << 17) /* It wrote the second half. */
#define RSHADOW_PAE_FAILED  (1u << 18) /* It failed or must retire. */
int32_t rshadow_pae_extra(const struct rshadow_tail_in *in, uint32_t *actions);

/*
 * A watched fault that cannot be emulated at all (an event is being
 * delivered) and cannot run natively either (rshadow_native_open() opened
 * nothing): records an error and says so; Xen then disables the watch.
 */
void rshadow_fault_abandon(const struct rshadow_vcpu *vcpu,
                           const struct rshadow_fault *fault, uint32_t reason,
                           uint64_t rflags);

/*
 * Switches off the watch that holds `gfn` if it is still the one named
 * `watch_id` (paging lock held); returns its range in *revoke, or an empty
 * one if another vCPU removed it meanwhile.
 */
void rshadow_watch_disable(struct rshadow_domain *dom, uint64_t gfn,
                           uint64_t watch_id, struct rshadow_revoke *revoke);

/*
 * A frame of the domain left its p2m, or now maps another machine frame
 * (paging lock held, from the p2m's write hook): the watch that holds
 * `gfn`, if any, is switched off for good and flagged
 * RSHADOW_WATCHF_GONE.  Returns 1 if that changed a watch, else 0.
 */
int32_t rshadow_watch_gone(struct rshadow_domain *dom, uint64_t gfn);

/*
 * The native run, for a watched access that no emulator can do, instead of
 * disabling its watch.  With the domain's other vCPUs paused (the shadow
 * tables are theirs too), rshadow_native_open() opens the fault's frame to
 * this vCPU alone: until rshadow_native_close(), rshadow_l1_flags() leaves
 * its entries as they are and rshadow_fault_check() does not take its
 * faults.  It records an RSHADOW_REC_ERROR of `reason` with
 * RSHADOW_RECF_NATIVE and returns the steps to arm, the instruction itself
 * first; or 0 if it opened nothing (the watch changed since the fault, or
 * RSHADOW_MAX_OPEN frames are open already), recording nothing.
 * rshadow_native_close() closes every frame `vcpu_id` opened and copies
 * up to `max` of their gfns to `gfns`, for Xen to hide again; returns how
 * many it copied.  Both with the paging lock held.
 */
#define RSHADOW_MAX_OPEN 4
uint32_t rshadow_native_open(const struct rshadow_vcpu *vcpu,
                             const struct rshadow_domain *dom,
                             const struct rshadow_fault *fault,
                             uint32_t reason, uint64_t rflags);
uint32_t rshadow_native_close(const struct rshadow_domain *dom,
                              uint32_t vcpu_id, uint64_t *gfns, uint32_t max);

/* ---- Stepping (VMX Monitor Trap Flag) ---- */

/*
 * All called by the vCPU itself.  rshadow_step_begin() opens a window of
 * `steps` instructions with the guest at `rip` (after RSHADOW_TAIL_STEP);
 * rshadow_step_exit() accounts an MTF exit, and rshadow_step_entry() an
 * instruction Xen completed itself, seen before the next VM entry because
 * the guest's RIP moved.  Each returns 1 while the window stays open: Xen
 * then keeps MTF set and interrupt injection blocked.
 */
#define RSHADOW_STEP_MTF 0 /* VMX Monitor Trap Flag */
#define RSHADOW_STEP_TF  1 /* EFLAGS.TF and the #DB intercept (SVM) */
int32_t rshadow_step_begin(const struct rshadow_vcpu *vcpu, uint32_t steps,
                           uint64_t rip, uint64_t rflags, uint32_t method);
int32_t rshadow_step_exit(const struct rshadow_vcpu *vcpu, uint64_t rip,
                          uint64_t rflags, uint8_t mode);
int32_t rshadow_step_entry(const struct rshadow_vcpu *vcpu, uint64_t rip,
                           uint64_t rflags, uint8_t mode);
void rshadow_step_cancel(const struct rshadow_vcpu *vcpu);

/*
 * Before a VM entry with a window open (after rshadow_step_entry()), with
 * the state of the guest's interrupts and NMIs (RSHADOW_EVENT_*).  Returns
 * 1 while Xen should go on blocking injection; 0 once the window is
 * closed.  From when an event is pending, the window goes on at most the
 * steps that were left in it then, counting every instruction, stepped or
 * emulated, across restarts and while the guest blocks the event itself;
 * then, at the first entry where the event can go in, the window yields:
 * it closes with an RSHADOW_REC_YIELD record (rip: where the guest resumes;
 * extra: the steps recorded in the window) and the event goes in.
 */
#define RSHADOW_EVENT_NONE        0 /* nothing pending */
#define RSHADOW_EVENT_BLOCKED     1 /* pending, not injectable now */
#define RSHADOW_EVENT_DELIVERABLE 2 /* pending, the guest would take it */
int32_t rshadow_step_hold(const struct rshadow_vcpu *vcpu, int32_t event,
                          uint64_t rflags, uint8_t mode);

/*
 * A #DB exit, with the guest at `rip` and the RFLAGS the CPU ran with.
 * Returns RSHADOW_DB_* bits: GUEST to deliver it (with *dr6, which the
 * module may have changed), OURS if it was a step of the module's, CLOSED
 * if that step ended the window.
 */
#define RSHADOW_DB_GUEST  (1u << 0)
#define RSHADOW_DB_OURS   (1u << 1)
#define RSHADOW_DB_CLOSED (1u << 2)
uint32_t rshadow_debug_exit(const struct rshadow_vcpu *vcpu, uint64_t *dr6,
                            uint64_t rip, uint64_t rflags, uint8_t mode);

/*
 * Stepping with TF (SVM).  rshadow_tf_exit() turns the RFLAGS the CPU ran
 * with into the guest's view (its own TF); rshadow_tf_entry() turns the
 * guest's view into the RFLAGS to run with (our TF added, unless an event
 * is being delivered: its frame must show the guest's).  Before running an
 * instruction, Xen asks rshadow_tf_must_emulate() about its bytes (up to
 * 15), and emulates it if so.  An event delivered inside a window ends it:
 * rshadow_step_event() records the last step, ending at the handler.
 */
uint64_t rshadow_tf_exit(const struct rshadow_vcpu *vcpu, uint64_t rflags);
uint64_t rshadow_tf_entry(const struct rshadow_vcpu *vcpu, uint64_t rflags,
                          int32_t event_pending);
int32_t rshadow_tf_must_emulate(const uint8_t *insn, uint32_t len,
                                int32_t long_mode);
void rshadow_step_event(const struct rshadow_vcpu *vcpu, uint64_t handler,
                        uint64_t rflags, uint8_t mode);

/* ---- Leaf services implemented by Xen ---- */

/*
 * Print one line (msg holds no newline) at an RSHADOW_LOG_* level, optionally
 * or-ed with RSHADOW_LOG_GUEST.
 */
void rshadow_xen_log(uint32_t level, const char *msg, size_t len);

/* Xen's system time, in nanoseconds. */
uint64_t rshadow_xen_now(void);

/*
 * The running vCPU's address space: its guest's CR3 with the bits that are
 * not the top-level table's address masked as its paging mode defines them
 * (bits 0-11, PCID or PWT/PCD, in long mode and 2-level paging; bits 0-4
 * in PAE mode; the bits above the physical address width), or 0 with
 * paging off.
 */
uint64_t rshadow_xen_guest_cr3(void);

/* Whether the domain's frame is ordinary RAM the guest may use. */
int32_t rshadow_xen_gfn_is_ram(uint64_t xen_handle, uint64_t gfn);

/* End in Xen's panic(); never returns. */
__attribute__((__noreturn__))
void rshadow_xen_panic(const char *msg, size_t len);

/* ---- Boot ---- */

/*
 * Called once from an initcall after HVM support has been set up.  Returns 0,
 * or -EINVAL if the caller's ABI version does not match the module's.
 */
int32_t rshadow_boot(const struct rshadow_platform *plat);

#endif /* RSHADOW_ABI_H */
