//! The control interface: validation of every request, and the state
//! changes Xen applies with the domain's paging lock held.
//!
//! Errors, in the order they are checked (the first that applies wins):
//!
//! | input | errno |
//! |---|---|
//! | `version` not RSHADOW_INTERFACE_VERSION | EACCES |
//! | `flags` or `pad` not zero | EINVAL |
//! | unknown operation | ENOSYS |
//! | domain not HVM | ENODEV |
//! | domain uses HAP | EOPNOTSUPP (and a console line saying why) |
//! | ENABLE when enabled | EEXIST |
//! | ENABLE ring size above the maximum | E2BIG |
//! | ENABLE ring size 0, not a power of two, or below the minimum | EINVAL |
//! | ENABLE rings, all the vCPUs' together, above RSHADOW_MAX_RING_BYTES | E2BIG |
//! | any other operation when not enabled | ENXIO |
//! | watch frame count 0 | EINVAL |
//! | watch frame count above its maximum | E2BIG |
//! | watch access mask that is 0 or has unknown bits | EINVAL |
//! | watch step budget above its maximum | E2BIG |
//! | steps requested where stepping is unavailable | EOPNOTSUPP |
//! | watch range beyond the domain's memory | ERANGE |
//! | a frame of the range that is not RAM | EADDRNOTAVAIL |
//! | READ_TRACE vCPU out of range | EINVAL |
//! | NOTIFY threshold above the largest ring, or latency above 1 s | E2BIG |
//! | NOTIFY latency below 1 ms (0 is the default, 10 ms) | EINVAL |
//! | LIST_WATCHES or READ_TRACE capacity above its maximum | E2BIG |
//! | buffer misaligned, or null with a capacity | EFAULT |
//! | watch overlaps another | EBUSY |
//! | watch table full | ENOSPC |
//! | REMOVE_WATCH of a range not watched exactly | ENOENT |
//!
//! Xen itself answers ESRCH for an unknown domain, EPERM (through XSM) for
//! a caller without privilege, and EFAULT when a copy to the caller fails.

use crate::bindings::{self, rshadow_ctl, rshadow_dom_facts, rshadow_domain, rshadow_revoke};
use crate::errno::{CtlResult, Errno};
use crate::logline::LogLine;
use crate::ring;
use crate::state::DomainState;
use crate::watch::{Access, Watch};
use crate::xen::{self, Level};

/// A validated operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Turn rust-shadow on for the domain, with per-vCPU rings of `records`.
    Enable {
        /// Records per vCPU ring.
        records: u32,
    },
    /// Turn it off: watches, rings and statistics go.
    Disable,
    /// Watch a range.
    AddWatch(Watch),
    /// Stop watching a range.
    RemoveWatch {
        /// First frame.
        first: u64,
        /// Frame count.
        frames: u64,
    },
    /// Copy out the watch list.
    ListWatches,
    /// Copy out a vCPU's trace.
    ReadTrace,
    /// Report statistics.
    GetStats,
    /// Remove every watch, empty the traces, zero the statistics.
    Reset,
    /// Signal the reader through an event channel when records wait.
    Notify {
        /// Records in a ring that signal at once (0: half the ring).
        threshold: u32,
        /// The longest a record waits for a signal, in microseconds.
        latency_us: u32,
    },
}

/// A request of no operation, every field zero but `version`: what a
/// caller fills in (`rshadow_ctl { op, ..REQUEST }`).
pub const REQUEST: rshadow_ctl = rshadow_ctl {
    op: 0,
    vcpu: 0,
    first_gfn: 0,
    nr_frames: 0,
    access: 0,
    steps: 0,
    nr: 0,
    start: 0,
    buf: 0,
    flags: 0,
    pad: 0,
    version: bindings::RSHADOW_INTERFACE_VERSION,
    pad2: 0,
    threshold: 0,
    latency_us: 0,
};

/// Largest LIST_WATCHES capacity.
const MAX_LIST: u32 = bindings::RSHADOW_MAX_WATCHES;

fn has(facts: &rshadow_dom_facts, flag: u32) -> bool {
    facts.flags & flag != 0
}

fn check_buffer(req: &rshadow_ctl) -> CtlResult {
    if !req.buf.is_multiple_of(8) || (req.buf == 0 && req.nr != 0) {
        return Err(Errno::Fault);
    }
    Ok(())
}

/// Decodes and validates a request; `enabled` says whether the domain has
/// rust-shadow on.  Touches no state: the checks that need the watch table
/// happen in [`apply`], under the paging lock.
pub fn decode(facts: &rshadow_dom_facts, enabled: bool, req: &rshadow_ctl) -> CtlResult<Op> {
    if req.version != bindings::RSHADOW_INTERFACE_VERSION {
        return Err(Errno::Acces);
    }
    if req.flags != 0 || req.pad != 0 || req.pad2 != 0 {
        return Err(Errno::Inval);
    }
    let op = req.op;
    if !(bindings::RSHADOW_OP_ENABLE..=bindings::RSHADOW_OP_NOTIFY).contains(&op) {
        return Err(Errno::NoSys);
    }
    if !has(facts, bindings::RSHADOW_DOMF_HVM) {
        return Err(Errno::NoDev);
    }
    if has(facts, bindings::RSHADOW_DOMF_HAP) {
        let mut l = LogLine::new();
        l.str("rust-shadow: d").dec(facts.domid.into()).str(
            " uses hardware-assisted paging; watches need shadow paging (boot Xen with hap=0)",
        );
        xen::log_line(Level::Warning, &l);
        return Err(Errno::OpNotSupp);
    }
    if op == bindings::RSHADOW_OP_ENABLE {
        if enabled {
            return Err(Errno::Exist);
        }
        let n = req.nr;
        if n > ring::MAX_RECORDS {
            return Err(Errno::TooBig);
        }
        if !ring::valid_size(n) {
            return Err(Errno::Inval);
        }
        if ring_bytes(n, facts.nr_vcpus) > MAX_RING_BYTES {
            return Err(Errno::TooBig);
        }
        return Ok(Op::Enable { records: n });
    }
    if !enabled {
        return Err(Errno::Nxio);
    }
    match op {
        bindings::RSHADOW_OP_DISABLE => Ok(Op::Disable),
        bindings::RSHADOW_OP_ADD_WATCH => decode_watch(facts, req).map(Op::AddWatch),
        bindings::RSHADOW_OP_REMOVE_WATCH => {
            check_count(req.nr_frames)?;
            Ok(Op::RemoveWatch {
                first: req.first_gfn,
                frames: req.nr_frames,
            })
        }
        bindings::RSHADOW_OP_LIST_WATCHES => {
            if req.nr > MAX_LIST {
                return Err(Errno::TooBig);
            }
            check_buffer(req)?;
            Ok(Op::ListWatches)
        }
        bindings::RSHADOW_OP_READ_TRACE => {
            if req.vcpu >= facts.nr_vcpus {
                return Err(Errno::Inval);
            }
            if req.nr > ring::MAX_RECORDS {
                return Err(Errno::TooBig);
            }
            check_buffer(req)?;
            Ok(Op::ReadTrace)
        }
        bindings::RSHADOW_OP_GET_STATS => Ok(Op::GetStats),
        bindings::RSHADOW_OP_NOTIFY => decode_notify(req),
        _ => Ok(Op::Reset),
    }
}

/// NOTIFY's settings: a threshold of at most a largest ring, a latency of
/// 0 (the default) or within its bounds.
fn decode_notify(req: &rshadow_ctl) -> CtlResult<Op> {
    if req.threshold > ring::MAX_RECORDS || req.latency_us > bindings::RSHADOW_NOTIFY_MAX_US {
        return Err(Errno::TooBig);
    }
    let latency_us = match req.latency_us {
        0 => bindings::RSHADOW_NOTIFY_DEFAULT_US,
        l if l < bindings::RSHADOW_NOTIFY_MIN_US => return Err(Errno::Inval),
        l => l,
    };
    Ok(Op::Notify {
        threshold: req.threshold,
        latency_us,
    })
}

/// The most ENABLE may allocate for one domain's rings, in bytes: Xen's
/// heap, which no domain's allocation accounts for, so it is bounded here.
pub const MAX_RING_BYTES: u64 = bindings::RSHADOW_MAX_RING_BYTES as u64;

/// The bytes of `vcpus` rings of `records` records.
fn ring_bytes(records: u32, vcpus: u32) -> u64 {
    let record = core::mem::size_of::<bindings::rshadow_record>() as u64;
    u64::from(records)
        .saturating_mul(record)
        .saturating_mul(u64::from(vcpus))
}

fn check_count(frames: u64) -> CtlResult {
    if frames == 0 {
        return Err(Errno::Inval);
    }
    if frames > u64::from(bindings::RSHADOW_MAX_WATCH_FRAMES) {
        return Err(Errno::TooBig);
    }
    Ok(())
}

fn decode_watch(facts: &rshadow_dom_facts, req: &rshadow_ctl) -> CtlResult<Watch> {
    check_count(req.nr_frames)?;
    let access = Access::from_bits(req.access).ok_or(Errno::Inval)?;
    if access.is_empty() {
        return Err(Errno::Inval);
    }
    if req.steps > bindings::RSHADOW_MAX_STEPS {
        return Err(Errno::TooBig);
    }
    if req.steps > 0 && !has(facts, bindings::RSHADOW_DOMF_STEP) {
        return Err(Errno::OpNotSupp);
    }
    // frames >= 1 here, so the subtraction cannot underflow.
    let last = req
        .first_gfn
        .checked_add(req.nr_frames.wrapping_sub(1))
        .ok_or(Errno::Range)?;
    if last > facts.max_gfn {
        return Err(Errno::Range);
    }
    Ok(Watch {
        first: req.first_gfn,
        last,
        access,
        steps: req.steps,
        disabled: false,
        gone: false,
        id: 0,
    })
}

/// Whether a bounded check is done or has frames left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Every check passed.
    Done,
    /// Passed so far; frames remain to be checked.
    More,
}

/// Checks that frames of `w` are RAM, asking Xen frame by frame: at most
/// `max` of them, from `*done` frames into the range, advancing `*done`.
pub fn check_ram(
    facts: &rshadow_dom_facts,
    w: &Watch,
    done: &mut u64,
    max: u64,
) -> CtlResult<Progress> {
    let frames = w.frames();
    let end = done.saturating_add(max).min(frames);
    while *done < end {
        let gfn = w.first.wrapping_add(*done);
        // SAFETY: a leaf service; the handle is the one Xen gave us.
        if unsafe { bindings::rshadow_xen_gfn_is_ram(facts.xen_handle, gfn) } == 0 {
            return Err(Errno::AddrNotAvail);
        }
        *done = done.saturating_add(1);
    }
    Ok(if *done >= frames {
        Progress::Done
    } else {
        Progress::More
    })
}

/// [`rshadow_ctl_check`], at most `max` frames of RAM check from `*done`.
fn check(
    dom: *const rshadow_domain,
    facts: &rshadow_dom_facts,
    req: &rshadow_ctl,
    done: &mut u64,
    max: u64,
) -> CtlResult<Progress> {
    // SAFETY: the callers' contract: dom is null or an initialised block.
    let enabled = unsafe { DomainState::from_ptr(dom) }.is_some();
    match decode(facts, enabled, req)? {
        Op::AddWatch(w) => check_ram(facts, &w, done, max),
        _ => Ok(Progress::Done),
    }
}

/// Applies a change to the watch table; returns the range whose shadow
/// mappings Xen must revoke (all frames for `u64::MAX` frames).
fn apply(dom: &DomainState, facts: &rshadow_dom_facts, op: Op) -> CtlResult<rshadow_revoke> {
    // SAFETY: the caller of rshadow_ctl_apply holds the paging lock (its
    // contract), and this is the only reference to the set it takes.
    let watches = unsafe { dom.watches_mut() };
    match op {
        Op::AddWatch(w) => {
            watches.add(w)?;
            // A guest that grew keeps a bit per frame in the filter.
            watches.grow_filter(facts.max_gfn);
            Ok(rshadow_revoke {
                first_gfn: w.first,
                nr_frames: w.frames(),
            })
        }
        Op::RemoveWatch { first, frames } => {
            let w = watches.remove(first, frames)?;
            Ok(rshadow_revoke {
                first_gfn: w.first,
                nr_frames: w.frames(),
            })
        }
        Op::Reset | Op::Disable => {
            let any = !watches.is_empty();
            watches.clear();
            Ok(rshadow_revoke {
                first_gfn: 0,
                nr_frames: if any { u64::MAX } else { 0 },
            })
        }
        _ => Err(Errno::Inval),
    }
}

/// See `rshadow_ctl_check` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block; `facts` and `req` point to
/// readable structures.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_ctl_check(
    dom: *const rshadow_domain,
    facts: *const bindings::rshadow_dom_facts,
    req: *const rshadow_ctl,
) -> i32 {
    // SAFETY: per the contract.
    let (facts, req) = match unsafe { (facts.as_ref(), req.as_ref()) } {
        (Some(f), Some(r)) => (f, r),
        _ => return Errno::Inval.to_ret(),
    };
    let mut done = 0;
    match check(dom, facts, req, &mut done, u64::MAX) {
        Ok(_) => 0,
        Err(e) => e.to_ret(),
    }
}

/// See `rshadow_ctl_check_bounded` in the ABI header.
///
/// # Safety
/// As for [`rshadow_ctl_check`]; and `done` is readable and writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_ctl_check_bounded(
    dom: *const rshadow_domain,
    facts: *const bindings::rshadow_dom_facts,
    req: *const rshadow_ctl,
    done: *mut u64,
) -> i32 {
    // SAFETY: per the contract.
    let (Some(facts), Some(req), Some(done)) =
        (unsafe { facts.as_ref() }, unsafe { req.as_ref() }, unsafe {
            done.as_mut()
        })
    else {
        return Errno::Inval.to_ret();
    };
    match check(
        dom,
        facts,
        req,
        done,
        u64::from(bindings::RSHADOW_RAM_CHECK_BATCH),
    ) {
        Ok(Progress::Done) => 0,
        Ok(Progress::More) => bindings::RSHADOW_CTL_MORE as i32,
        Err(e) => e.to_ret(),
    }
}

/// See `rshadow_ctl_apply` in the ABI header.
///
/// # Safety
/// `dom` is an initialised domain block and the caller holds the domain's
/// paging lock; `facts` and `req` are readable and `revoke` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_ctl_apply(
    dom: *mut rshadow_domain,
    facts: *const rshadow_dom_facts,
    req: *const rshadow_ctl,
    revoke: *mut rshadow_revoke,
) -> i32 {
    // SAFETY: per the contract.
    let (Some(dom), Some(facts), Some(req), Some(revoke)) = (
        unsafe { DomainState::from_ptr(dom) },
        unsafe { facts.as_ref() },
        unsafe { req.as_ref() },
        unsafe { revoke.as_mut() },
    ) else {
        return Errno::Inval.to_ret();
    };
    *revoke = rshadow_revoke::default();
    // Today's facts, not ENABLE's: the guest's memory may have grown since.
    match decode(facts, true, req).and_then(|op| apply(dom, facts, op)) {
        Ok(r) => {
            *revoke = r;
            0
        }
        Err(e) => e.to_ret(),
    }
}

/// See the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block; `facts` is readable; the
/// block is not in use by anything else yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_domain_init(
    dom: *mut rshadow_domain,
    facts: *const rshadow_dom_facts,
) {
    // SAFETY: per the contract.
    if let (false, Some(facts)) = (dom.is_null(), unsafe { facts.as_ref() }) {
        // SAFETY: per the contract, a zeroed unshared block.
        unsafe { DomainState::init(dom, facts) };
    }
}

/// Number of watch ranges.
///
/// # Safety
/// `dom` is null or an initialised domain block; paging lock held.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_watch_count(dom: *const rshadow_domain) -> u32 {
    // SAFETY: per the contract.
    match unsafe { DomainState::from_ptr(dom) } {
        // SAFETY: paging lock held (contract).
        Some(d) => u32::try_from(unsafe { d.watches() }.len()).unwrap_or(u32::MAX),
        None => 0,
    }
}

/// Copies up to `max` watches from index `start` into `out`.
///
/// # Safety
/// `dom` is null or an initialised domain block, with the paging lock
/// held; `out` points to `max` writable entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_watch_list(
    dom: *const rshadow_domain,
    start: u32,
    out: *mut bindings::rshadow_watch_info,
    max: u32,
) -> u32 {
    // SAFETY: per the contract.
    let Some(d) = (unsafe { DomainState::from_ptr(dom) }) else {
        return 0;
    };
    if out.is_null() {
        return 0;
    }
    // SAFETY: out holds max entries (contract).
    let out = unsafe { core::slice::from_raw_parts_mut(out, max as usize) };
    // SAFETY: paging lock held (contract).
    let ranges = unsafe { d.watches() }.as_slice();
    let from = ranges.get(start as usize..).unwrap_or(&[]);
    let mut n = 0u32;
    for (dst, w) in out.iter_mut().zip(from) {
        *dst = bindings::rshadow_watch_info {
            first_gfn: w.first,
            nr_frames: w.frames(),
            access: w.access.bits(),
            steps: w.steps,
            flags: if w.disabled {
                bindings::RSHADOW_WATCHF_DISABLED
            } else {
                0
            } | if w.gone {
                bindings::RSHADOW_WATCHF_GONE
            } else {
                0
            },
            pad: 0,
        };
        n = n.saturating_add(1);
    }
    n
}

/// Fills the domain-wide statistics.
///
/// # Safety
/// `dom` is null or an initialised domain block, with the paging lock
/// held; `stats` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_domain_stats(
    dom: *const rshadow_domain,
    stats: *mut bindings::rshadow_stats,
) {
    // SAFETY: per the contract.
    let (Some(d), Some(s)) = (unsafe { DomainState::from_ptr(dom) }, unsafe {
        stats.as_mut()
    }) else {
        return;
    };
    // SAFETY: paging lock held (contract).
    let ranges = unsafe { d.watches() }.as_slice();
    s.watches = ranges.len() as u64;
    s.watched_frames = ranges
        .iter()
        .fold(0u64, |acc, w| acc.saturating_add(w.frames()));
}
