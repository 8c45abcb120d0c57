//! The shadow fault path: hiding watched frames, recognising faults on
//! them, and recording what the emulated instruction did.

use crate::bindings::{
    self as b, rshadow_access, rshadow_domain, rshadow_fault, rshadow_record, rshadow_revoke,
    rshadow_tail_in, rshadow_tail_out, rshadow_vcpu,
};
use crate::state::{DomainState, VcpuState, VcpuStats};
use crate::tail;
use crate::watch::{Access, WatchSet};
use crate::xen;

/// The shadow L1 flags for a frame, given those shadow propagation chose.
pub fn l1_flags(watches: &WatchSet, gfn: u64, flags: u32) -> u32 {
    if watches.is_open(gfn) {
        return flags;
    }
    match watches.lookup(gfn) {
        Some((_, w)) => {
            let a = w.active_access();
            if a.needs_not_present() {
                flags & !b::RSHADOW_PTE_PRESENT
            } else if a.contains(Access::WRITE) {
                flags & !b::RSHADOW_PTE_RW
            } else {
                flags
            }
        }
        None => flags,
    }
}

/// See `rshadow_l1_flags` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block, and the caller holds the
/// domain's paging lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_l1_flags(dom: *const rshadow_domain, gfn: u64, flags: u32) -> u32 {
    // SAFETY: per the contract.
    match unsafe { DomainState::from_ptr(dom) } {
        // SAFETY: paging lock held (contract).
        Some(d) => l1_flags(unsafe { d.watches() }, gfn, flags),
        None => flags,
    }
}

/// Whether a fault on `gfn` hit an entry a watch hides; fills `fault`.
pub fn fault_check(
    watches: &WatchSet,
    gfn: u64,
    va: u64,
    pfec: u32,
    fault: &mut rshadow_fault,
) -> bool {
    if watches.is_open(gfn) {
        return false;
    }
    let Some((_, w)) = watches.lookup(gfn) else {
        return false;
    };
    let a = w.active_access();
    let hidden =
        a.needs_not_present() || (a.contains(Access::WRITE) && pfec & b::RSHADOW_PFEC_WRITE != 0);
    if !hidden {
        return false;
    }
    *fault = rshadow_fault {
        gfn,
        va,
        pfec,
        access: a.bits(),
        steps: w.steps,
        watch_id: w.id,
        flags: if watches.traps_fetches() {
            b::RSHADOW_FAULTF_FETCHES as u8
        } else {
            0
        },
        ..Default::default()
    };
    true
}

/// See `rshadow_fault_check` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block, the caller holds the
/// domain's paging lock, and `fault` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_fault_check(
    dom: *const rshadow_domain,
    gfn: u64,
    va: u64,
    pfec: u32,
    fault: *mut rshadow_fault,
) -> i32 {
    // SAFETY: per the contract.
    let (Some(d), Some(f)) = (unsafe { DomainState::from_ptr(dom) }, unsafe {
        fault.as_mut()
    }) else {
        return 0;
    };
    // SAFETY: paging lock held (contract).
    i32::from(fault_check(unsafe { d.watches() }, gfn, va, pfec, f))
}

/// See `rshadow_watch_disable` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block, the caller holds the
/// domain's paging lock, and `revoke` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_watch_disable(
    dom: *mut rshadow_domain,
    gfn: u64,
    watch_id: u64,
    revoke: *mut rshadow_revoke,
) {
    // SAFETY: per the contract.
    let (Some(d), Some(r)) = (unsafe { DomainState::from_ptr(dom) }, unsafe {
        revoke.as_mut()
    }) else {
        return;
    };
    // SAFETY: paging lock held, no other reference taken here (contract).
    *r = match unsafe { d.watches_mut() }.disable(gfn, watch_id) {
        Some(w) => rshadow_revoke {
            first_gfn: w.first,
            nr_frames: w.frames(),
        },
        None => rshadow_revoke::default(),
    };
}

/// See `rshadow_watch_gone` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block, and the caller holds the
/// domain's paging lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_watch_gone(dom: *mut rshadow_domain, gfn: u64) -> i32 {
    // SAFETY: per the contract.
    let Some(d) = (unsafe { DomainState::from_ptr(dom) }) else {
        return 0;
    };
    // SAFETY: paging lock held, no other reference taken here (contract).
    i32::from(unsafe { d.watches_mut() }.gone(gfn).is_some())
}

/// Whether an access of `kind` is one a watch with `access` records.
fn kind_is_watched(kind: u32, access: Access) -> bool {
    match kind {
        b::RSHADOW_REC_READ => access.contains(Access::READ),
        b::RSHADOW_REC_WRITE => access.contains(Access::WRITE),
        b::RSHADOW_REC_RMW => access.intersects(Access::READ | Access::WRITE),
        b::RSHADOW_REC_EXEC => access.contains(Access::EXEC),
        _ => false,
    }
}

/// The watched frame an access touched, if any (its first byte's frame,
/// else its last byte's), and that watch's step budget.
fn watched_frame(watches: &WatchSet, acc: &rshadow_access) -> Option<(u64, u32)> {
    [acc.gfn, acc.gfn_last].into_iter().find_map(|gfn| {
        watches
            .lookup(gfn)
            .filter(|(_, w)| kind_is_watched(u32::from(acc.kind), w.active_access()))
            .map(|(_, w)| (gfn, w.steps))
    })
}

fn error_record(fault: &rshadow_fault, reason: u32, rflags: u64) -> rshadow_record {
    rshadow_record {
        time: xen::now(),
        rip: fault.rip,
        linear: fault.va,
        gfn: fault.gfn,
        rflags,
        kind: b::RSHADOW_REC_ERROR as u8,
        mode: fault.mode,
        extra: u16::try_from(reason).unwrap_or(u16::MAX),
        ..Default::default()
    }
}

/// Records the accesses of a watched fault's emulation that fall on
/// watched frames with a matching access kind.  Returns the largest step
/// budget of the watches that recorded one, or `None` if none did.
///
/// The table is read now, not when the fault was taken: the paging lock is
/// dropped while the instruction is emulated, and another vCPU may change
/// the watches meanwhile.  Steps follow a recorded access, never a missing
/// one.
pub fn record_accesses(
    vcpu: &VcpuState,
    watches: &WatchSet,
    fault: &rshadow_fault,
    rflags: u64,
) -> Option<u32> {
    let n = usize::from(fault.nr_accesses).min(fault.accesses.len());
    let now = xen::now();
    let mut steps = None;
    for acc in fault.accesses.iter().take(n) {
        if let Some((gfn, budget)) = watched_frame(watches, acc) {
            steps = steps.max(Some(budget));
            vcpu.record(rshadow_record {
                time: now,
                rip: fault.rip,
                linear: acc.linear,
                gfn,
                value: acc.value,
                rflags,
                kind: acc.kind,
                size: acc.size,
                mode: fault.mode,
                flags: acc.flags,
                ..Default::default()
            });
        }
    }
    steps
}

/// See `rshadow_emulation_tail` in the ABI header.
///
/// # Safety
/// `vcpu` and `dom` are null or initialised blocks; `input` is readable,
/// `out` writable; if `input.watched`, `fault` is readable and the caller
/// holds the domain's paging lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_emulation_tail(
    vcpu: *const rshadow_vcpu,
    dom: *const rshadow_domain,
    fault: *const rshadow_fault,
    input: *const rshadow_tail_in,
    out: *mut rshadow_tail_out,
) {
    // SAFETY: per the contract.
    let (Some(i), Some(o)) = (unsafe { input.as_ref() }, unsafe { out.as_mut() }) else {
        return;
    };
    *o = rshadow_tail_out {
        actions: tail::decide(i),
        steps: 0,
    };
    if i.watched == 0 {
        return;
    }
    // SAFETY: per the contract.
    let (Some(v), Some(d), Some(f)) = (
        unsafe { VcpuState::from_ptr(vcpu) },
        unsafe { DomainState::from_ptr(dom) },
        unsafe { fault.as_ref() },
    ) else {
        return;
    };
    VcpuStats::bump(&v.stats.watched_faults);
    if u32::from(f.flags) & b::RSHADOW_FAULTF_FAST != 0 {
        VcpuStats::bump(&v.stats.fast_faults);
    }
    if o.actions & b::RSHADOW_TAIL_FAILED != 0 {
        VcpuStats::bump(&v.stats.errors);
        v.record(error_record(f, b::RSHADOW_ERR_UNHANDLEABLE, i.rflags));
        return;
    }
    if i.rc == b::RSHADOW_EMUL_OKAY as i32 {
        VcpuStats::bump(&v.stats.emulated);
    }
    // SAFETY: paging lock held for watched faults (contract).
    let steps = record_accesses(v, unsafe { d.watches() }, f, i.rflags);
    if let Some(n) = steps.filter(|&n| n > 0 && i.rc == b::RSHADOW_EMUL_OKAY as i32) {
        o.actions |= b::RSHADOW_TAIL_STEP;
        o.steps = n;
    }
}

/// See `rshadow_fault_abandon` in the ABI header.
///
/// # Safety
/// `vcpu` is null or an initialised vCPU block; `fault` is readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_fault_abandon(
    vcpu: *const rshadow_vcpu,
    fault: *const rshadow_fault,
    reason: u32,
    rflags: u64,
) {
    // SAFETY: per the contract.
    if let (Some(v), Some(f)) = (unsafe { VcpuState::from_ptr(vcpu) }, unsafe {
        fault.as_ref()
    }) {
        VcpuStats::bump(&v.stats.watched_faults);
        VcpuStats::bump(&v.stats.errors);
        v.record(error_record(f, reason, rflags));
    }
}

/// Opens the watched frame of a fault that no emulator can do to its vCPU
/// for a native run, and records it (see `rshadow_native_open` in the ABI
/// header).  Returns the steps to arm: the instruction itself, then the
/// watch's budget; `None` if nothing was opened or recorded.
pub fn native_open(
    vcpu: &VcpuState,
    watches: &mut WatchSet,
    fault: &rshadow_fault,
    reason: u32,
    rflags: u64,
) -> Option<u32> {
    // The watch as it stands now: another vCPU may have changed the table
    // since the fault.
    let steps = watches
        .lookup(fault.gfn)
        .filter(|(_, w)| w.id == fault.watch_id && !w.active_access().is_empty())
        .map(|(_, w)| w.steps)?;
    if !watches.open(fault.gfn, vcpu.vcpu_id) {
        return None;
    }
    VcpuStats::bump(&vcpu.stats.watched_faults);
    VcpuStats::bump(&vcpu.stats.errors);
    let mut rec = error_record(fault, reason, rflags);
    rec.flags = b::RSHADOW_RECF_NATIVE as u8;
    vcpu.record(rec);
    Some(steps.saturating_add(1))
}

/// See `rshadow_native_open` in the ABI header.
///
/// # Safety
/// `vcpu` and `dom` are null or initialised blocks, `fault` is readable,
/// and the caller holds the domain's paging lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_native_open(
    vcpu: *const rshadow_vcpu,
    dom: *const rshadow_domain,
    fault: *const rshadow_fault,
    reason: u32,
    rflags: u64,
) -> u32 {
    // SAFETY: per the contract.
    let (Some(v), Some(d), Some(f)) = (
        unsafe { VcpuState::from_ptr(vcpu) },
        unsafe { DomainState::from_ptr(dom) },
        unsafe { fault.as_ref() },
    ) else {
        return 0;
    };
    // SAFETY: paging lock held, no other reference taken here (contract).
    native_open(v, unsafe { d.watches_mut() }, f, reason, rflags).unwrap_or(0)
}

/// See `rshadow_native_close` in the ABI header.
///
/// # Safety
/// `dom` is null or an initialised domain block, `gfns` is null or
/// writable for `max` entries, and the caller holds the domain's paging
/// lock.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_native_close(
    dom: *const rshadow_domain,
    vcpu_id: u32,
    gfns: *mut u64,
    max: u32,
) -> u32 {
    // SAFETY: per the contract.
    let Some(d) = (unsafe { DomainState::from_ptr(dom) }) else {
        return 0;
    };
    let out: &mut [u64] = if gfns.is_null() {
        &mut []
    } else {
        // SAFETY: per the contract, writable for max entries.
        unsafe { core::slice::from_raw_parts_mut(gfns, max as usize) }
    };
    // SAFETY: paging lock held, no other reference taken here (contract).
    let n = unsafe { d.watches_mut() }.close(vcpu_id, out);
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use crate::watch::Watch;
    use std::boxed::Box;

    fn set(watches: &[(u64, u64, Access)]) -> Box<WatchSet> {
        let mut s = Box::new(WatchSet::new());
        for &(first, frames, access) in watches {
            s.add(Watch {
                first,
                last: first + frames - 1,
                access,
                steps: 3,
                disabled: false,
                gone: false,
                id: 0,
            })
            .unwrap();
        }
        s
    }

    const P: u32 = b::RSHADOW_PTE_PRESENT;
    const RW: u32 = b::RSHADOW_PTE_RW;

    #[test]
    fn shadow_flags_hide_or_protect() {
        let s = set(&[
            (10, 1, Access::READ),
            (20, 1, Access::WRITE),
            (30, 1, Access::EXEC | Access::WRITE),
        ]);
        let f = P | RW | 0x60;
        assert_eq!(l1_flags(&s, 10, f), RW | 0x60);
        assert_eq!(l1_flags(&s, 20, f), P | 0x60);
        assert_eq!(l1_flags(&s, 30, f), RW | 0x60);
        assert_eq!(l1_flags(&s, 11, f), f);
        // A frame the guest maps read-only stays read-only.
        assert_eq!(l1_flags(&s, 20, P), P);
    }

    #[test]
    fn which_faults_are_watched() {
        let s = set(&[(10, 1, Access::READ), (20, 1, Access::WRITE)]);
        let mut f = rshadow_fault::default();
        // Any fault on a hidden entry must be emulated, whatever its kind.
        assert!(fault_check(&s, 10, 0x10000, b::RSHADOW_PFEC_WRITE, &mut f));
        assert_eq!(
            (f.gfn, f.watch_id, f.steps, f.access),
            (10, s.lookup(10).unwrap().1.id, 3, Access::READ.bits())
        );
        assert_ne!(f.watch_id, 0);
        // A read-only entry only faults on writes; reads are not ours.
        assert!(fault_check(
            &s,
            20,
            0,
            b::RSHADOW_PFEC_WRITE | b::RSHADOW_PFEC_PRESENT,
            &mut f
        ));
        assert!(!fault_check(&s, 20, 0, 0, &mut f));
        assert!(!fault_check(&s, 21, 0, b::RSHADOW_PFEC_WRITE, &mut f));
    }

    #[test]
    fn recorded_kinds_follow_the_watch() {
        let s = set(&[(10, 1, Access::WRITE)]);
        let acc = |kind: u32, gfn: u64, gfn_last: u64| rshadow_access {
            kind: kind as u8,
            gfn,
            gfn_last,
            ..Default::default()
        };
        assert_eq!(
            watched_frame(&s, &acc(b::RSHADOW_REC_WRITE, 10, 10)),
            Some((10, 3))
        );
        assert_eq!(watched_frame(&s, &acc(b::RSHADOW_REC_READ, 10, 10)), None);
        assert_eq!(
            watched_frame(&s, &acc(b::RSHADOW_REC_RMW, 10, 10)),
            Some((10, 3))
        );
        // An access straddling into the watched frame is recorded there.
        assert_eq!(
            watched_frame(&s, &acc(b::RSHADOW_REC_WRITE, 9, 10)),
            Some((10, 3))
        );
        assert_eq!(watched_frame(&s, &acc(b::RSHADOW_REC_EXEC, 10, 10)), None);
    }

    #[test]
    fn open_frames_are_unwatched_until_closed() {
        let mut s = set(&[(10, 4, Access::READ | Access::WRITE)]);
        let mut f = rshadow_fault::default();
        assert!(s.open(11, 1));
        // Built as if unwatched, and its faults are not ours; the rest of
        // the range stays hidden.
        assert_eq!(l1_flags(&s, 11, P | RW), P | RW);
        assert!(!fault_check(&s, 11, 0, b::RSHADOW_PFEC_WRITE, &mut f));
        assert_eq!(l1_flags(&s, 12, P | RW), RW);
        assert!(fault_check(&s, 12, 0, 0, &mut f));
        // Open again is no new slot; another vCPU's frames stay open when
        // this one closes.
        assert!(s.open(11, 1) && s.open(13, 0));
        let mut out = [0u64; 4];
        assert_eq!(s.close(1, &mut out), 1);
        assert_eq!(out[0], 11);
        assert!(!s.is_open(11) && s.is_open(13));
        assert_eq!(l1_flags(&s, 11, P | RW), RW);
        assert_eq!(s.close(0, &mut out), 1);
        assert!(!s.is_open(13));
    }

    #[test]
    fn open_is_bounded_and_close_closes_all() {
        let mut s = set(&[(10, 16, Access::READ)]);
        for g in 0..crate::watch::MAX_OPEN as u64 {
            assert!(s.open(10 + g, 2));
        }
        assert!(!s.open(30, 2));
        assert!(!s.is_open(30));
        // Fewer slots out than frames open: every frame closes anyway.
        let mut out = [0u64; 1];
        assert_eq!(s.close(2, &mut out), 1);
        assert!((10..26).all(|g| !s.is_open(g)));
        // clear() closes too.
        assert!(s.open(10, 0));
        s.clear();
        assert!(!s.is_open(10));
    }

    #[test]
    fn native_open_records_and_arms_the_instruction_then_the_budget() {
        use crate::state::testing::Block;
        let v = Block::new(b::RSHADOW_VCPU_STATE_SIZE);
        let mut mem = std::vec![rshadow_record::default(); 16];
        // SAFETY: a zeroed block; mem outlives its use below.
        unsafe { VcpuState::init(v.as_ptr(), 0, mem.as_mut_ptr(), 16) };
        // SAFETY: initialised.
        let vs = unsafe { VcpuState::from_ptr(v.as_ptr()) }.unwrap();
        let mut s = set(&[(10, 2, Access::WRITE)]);
        let mut f = rshadow_fault::default();
        assert!(fault_check(&s, 11, 0x1000, b::RSHADOW_PFEC_WRITE, &mut f));
        f.rip = 0x4000;
        assert_eq!(
            native_open(vs, &mut s, &f, b::RSHADOW_ERR_EVENT, 2),
            Some(4)
        );
        assert!(s.is_open(11));
        let mut out = [rshadow_record::default()];
        vs.ring().peek_at(0, &mut out);
        assert_eq!(u32::from(out[0].kind), b::RSHADOW_REC_ERROR);
        assert_eq!(u32::from(out[0].flags), b::RSHADOW_RECF_NATIVE);
        assert_eq!(u32::from(out[0].extra), b::RSHADOW_ERR_EVENT);
        assert_eq!(
            (out[0].gfn, out[0].linear, out[0].rip),
            (11, 0x1000, 0x4000)
        );
        // A watch removed (or replaced) since the fault opens nothing.
        s.close(0, &mut []);
        s.remove(10, 2).unwrap();
        assert_eq!(native_open(vs, &mut s, &f, b::RSHADOW_ERR_EVENT, 2), None);
        s.add(Watch {
            first: 10,
            last: 11,
            access: Access::WRITE,
            steps: 3,
            disabled: false,
            gone: false,
            id: 0,
        })
        .unwrap();
        assert_eq!(native_open(vs, &mut s, &f, b::RSHADOW_ERR_EVENT, 2), None);
        assert_eq!(vs.ring().len(), 1);
    }
}
