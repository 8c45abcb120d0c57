//! Post-emulation single-step: after a recorded access to a watched frame,
//! the next N guest instructions are stepped and each is recorded.
//!
//! On VMX the stepping is done by the Monitor Trap Flag: a VM-execution
//! control, invisible to the guest, that exits to Xen after each guest
//! instruction.  Xen's glue sets the flag on every VM entry while a window
//! is open (and blocks interrupt injection meanwhile, as Xen does for its
//! own MTF users, so the "next instruction" is not a timer handler's); this
//! module keeps the window and decides.
//!
//! SVM has no MTF: there the window is stepped with EFLAGS.TF and the #DB
//! intercept Xen always has, and the TF is kept out of the guest's sight.
//! The guest's own TF is remembered; Xen's view of the guest's RFLAGS (and
//! so every instruction Xen emulates, every frame it builds) holds the
//! guest's own TF, and ours is added only to the RFLAGS the CPU runs with.
//! Each #DB exit with DR6.BS is our step (and also the guest's if its own
//! TF is set).  The instructions that would show or change TF if run
//! natively (pushf, popf, iret, int n/int3/into/int1, syscall, sysret,
//! sysenter, sysexit, and mov/pop ss, whose shadow would swallow a step)
//! are emulated by Xen instead, with the guest's own TF in place, and count
//! as steps completed by Xen.  An event delivered inside a window (a fault,
//! or a software interrupt) ends it with a step whose next RIP is the
//! handler: the frame the CPU pushes must show the guest's own TF, and TF
//! stepping cannot follow into a handler without it.
//!
//! The semantics, which the tests check:
//!  - a step record's `rip` is the instruction that was stepped, its
//!    `linear` the instruction the guest runs next, its `rflags` the flags
//!    after the step, its `extra` the step's index in the window;
//!  - an instruction that faults gives a step record whose next RIP is the
//!    guest's handler (MTF fires after the fault is delivered);
//!  - each iteration of a `rep` string instruction is a step (as MTF
//!    behaves);
//!  - an instruction Xen completes itself (`cpuid`, port I/O, `hlt`, or
//!    one it emulates) raises no MTF exit: Xen notices before the next VM
//!    entry that the guest's RIP moved and it is recorded then, flagged
//!    RSHADOW_RECF_EMULATED, so it still counts exactly once;
//!  - a watched access inside a window restarts the window with that
//!    watch's budget (its access record stands for the emulated
//!    instruction, which is not also a step);
//!  - the guest's own TF, debug registers and #DBs are untouched.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::bindings::{self as b, rshadow_record, rshadow_vcpu};
use crate::state::{VcpuState, VcpuStats};
use crate::xen;

const TF: u64 = 1 << 8;
const DR6_BS: u64 = 1 << 14;
const DR6_B0_3: u64 = 0xf;

/// How the window is stepped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// VMX Monitor Trap Flag.
    Mtf,
    /// EFLAGS.TF with the #DB intercept, hidden from the guest (SVM).
    Tf,
}

/// The stepping window of one vCPU.  Only the vCPU itself touches it (from
/// its fault path and VM exits), so relaxed atomics suffice; they are
/// atomics only so that the control domain may read the state block.
#[repr(C)]
#[derive(Default)]
pub struct StepState {
    /// Steps left in the window; 0 when none is open.
    remaining: AtomicU32,
    /// Steps recorded so far in the window.
    index: AtomicU32,
    /// Where the guest resumes: the next instruction to be stepped.
    next_rip: AtomicU64,
    /// 1 when stepping with TF (`Method::Tf`).
    tf_method: AtomicU32,
    /// The guest's own TF, while stepping with TF.
    guest_tf: AtomicU64,
    /// 1 while an interrupt or NMI is pending (the wait has begun).
    holding: AtomicU32,
    /// Instructions it may still wait, however often watched accesses
    /// restart the window.
    hold_left: AtomicU32,
}

impl StepState {
    /// Whether a window is open.
    pub fn active(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) != 0
    }

    /// Opens a window of `steps` at `rip` (restarting any open one);
    /// `rflags` is the guest's, as Xen sees it.
    pub fn begin(&self, steps: u32, rip: u64, method: Method, rflags: u64) {
        // The emulated access was one more instruction a held event waited.
        self.spend_hold();
        self.index.store(0, Ordering::Relaxed);
        self.next_rip.store(rip, Ordering::Relaxed);
        self.tf_method
            .store(u32::from(method == Method::Tf), Ordering::Relaxed);
        self.guest_tf.store(rflags & TF, Ordering::Relaxed);
        self.remaining
            .store(steps.min(b::RSHADOW_MAX_STEPS), Ordering::Relaxed);
    }

    fn tf_active(&self) -> bool {
        self.active() && self.tf_method.load(Ordering::Relaxed) != 0
    }

    /// TF stepping, after a VM exit: the guest's RFLAGS as the guest
    /// should see them (its own TF), from those the CPU ran with.
    pub fn tf_exit(&self, rflags: u64) -> u64 {
        if !self.tf_active() {
            return rflags;
        }
        (rflags & !TF) | self.guest_tf.load(Ordering::Relaxed)
    }

    /// TF stepping, before a VM entry: the RFLAGS to run with.  Xen's view
    /// holds the guest's own TF, which may have changed since (an emulated
    /// popf); ours is added unless an event is being delivered, whose frame
    /// must show the guest's own.
    pub fn tf_entry(&self, rflags: u64, event_pending: bool) -> u64 {
        if !self.tf_active() {
            return rflags;
        }
        self.guest_tf.store(rflags & TF, Ordering::Relaxed);
        if event_pending { rflags } else { rflags | TF }
    }

    /// An event is delivered inside the window: its last step ends at the
    /// handler, and the window closes.
    pub fn event(&self, handler: u64, rflags: u64, mode: u8) -> Option<rshadow_record> {
        if !self.active() {
            return None;
        }
        let (rec, _) = self.step(handler, rflags, mode, b::RSHADOW_RECF_EMULATED as u8);
        self.cancel();
        Some(rec)
    }

    /// TF stepping: a #DB exit with `dr6`, the guest at `rip`.  Returns
    /// the step it recorded, if it was ours, and what the guest gets.
    pub fn debug_exit(
        &self,
        dr6: u64,
        rip: u64,
        rflags: u64,
        mode: u8,
    ) -> (Option<(rshadow_record, bool)>, DbVerdict) {
        let guest_tf = self.guest_tf.load(Ordering::Relaxed) != 0;
        if !self.tf_active() || dr6 & DR6_BS == 0 {
            return (None, DbVerdict { deliver: true, dr6 });
        }
        let step = self.step(rip, self.tf_exit(rflags), mode, 0);
        // The guest gets the #DB if its own TF asked for it, or if a
        // breakpoint of its fired at the same time; never our BS otherwise.
        let deliver = guest_tf || dr6 & DR6_B0_3 != 0;
        let dr6 = if guest_tf { dr6 } else { dr6 & !DR6_BS };
        (Some(step), DbVerdict { deliver, dr6 })
    }

    /// Closes the window.
    pub fn cancel(&self) {
        self.remaining.store(0, Ordering::Relaxed);
        self.holding.store(0, Ordering::Relaxed);
    }

    fn spend_hold(&self) {
        if self.holding.load(Ordering::Relaxed) != 0 {
            let left = self.hold_left.load(Ordering::Relaxed);
            self.hold_left
                .store(left.saturating_sub(1), Ordering::Relaxed);
        }
    }

    /// Before a VM entry with the window open (Xen blocks injection while
    /// it is): whether to go on blocking, given the state of the guest's
    /// interrupts and NMIs.
    ///
    /// From when one is pending, the window may go on at most the steps
    /// that were left in it then.  Every instruction counts, stepped or
    /// emulated as a watched access, so a watched access restarting the
    /// window does not restart the wait; nor does the guest blocking the
    /// event for a while (IF clear, an interrupt shadow), which would
    /// otherwise let a loop with a `mov ss` or a `cli` in it keep its
    /// interrupts out for good.  Once the wait is over, the window yields
    /// at the first entry where the event can go in: it closes with the
    /// returned `RSHADOW_REC_YIELD` record, and the event goes in.  The
    /// wait ends when nothing is pending any more.
    pub fn hold(&self, event: Event, rflags: u64, mode: u8) -> Result<(), rshadow_record> {
        if !self.active() || event == Event::None {
            self.holding.store(0, Ordering::Relaxed);
            return Ok(());
        }
        if self.holding.swap(1, Ordering::Relaxed) == 0 {
            let left = self.remaining.load(Ordering::Relaxed);
            self.hold_left.store(left, Ordering::Relaxed);
        }
        if self.hold_left.load(Ordering::Relaxed) != 0 || event != Event::Deliverable {
            return Ok(());
        }
        let rip = self.next_rip.load(Ordering::Relaxed);
        let rec = rshadow_record {
            time: xen::now(),
            rip,
            linear: rip,
            rflags,
            kind: b::RSHADOW_REC_YIELD as u8,
            mode,
            extra: u16::try_from(self.index.load(Ordering::Relaxed)).unwrap_or(u16::MAX),
            ..Default::default()
        };
        self.cancel();
        Err(rec)
    }

    /// Accounts one step that ended at `rip`; returns the record and
    /// whether the window stays open.
    fn step(&self, rip: u64, rflags: u64, mode: u8, flags: u8) -> (rshadow_record, bool) {
        let index = self.index.load(Ordering::Relaxed);
        let rec = rshadow_record {
            time: xen::now(),
            rip: self.next_rip.load(Ordering::Relaxed),
            linear: rip,
            rflags,
            kind: b::RSHADOW_REC_STEP as u8,
            mode,
            flags,
            extra: u16::try_from(index).unwrap_or(u16::MAX),
            ..Default::default()
        };
        self.index.store(index.saturating_add(1), Ordering::Relaxed);
        self.next_rip.store(rip, Ordering::Relaxed);
        self.spend_hold();
        let left = self.remaining.load(Ordering::Relaxed).saturating_sub(1);
        self.remaining.store(left, Ordering::Relaxed);
        if left == 0 {
            self.holding.store(0, Ordering::Relaxed);
        }
        (rec, left != 0)
    }

    /// An MTF exit with the guest at `rip`.
    pub fn exit(&self, rip: u64, rflags: u64, mode: u8) -> Option<(rshadow_record, bool)> {
        self.active().then(|| self.step(rip, rflags, mode, 0))
    }

    /// Before a VM entry with the guest at `rip`: if it moved with no MTF
    /// exit, Xen completed an instruction itself, which is a step too.
    pub fn entry(&self, rip: u64, rflags: u64, mode: u8) -> Option<(rshadow_record, bool)> {
        if !self.active() || rip == self.next_rip.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.step(rip, rflags, mode, b::RSHADOW_RECF_EMULATED as u8))
    }
}

/// The guest's pending interrupts and NMIs, as Xen sees them before a VM
/// entry (`RSHADOW_EVENT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing pending.
    None,
    /// Pending, but the guest would not take it now (IF clear, an
    /// interrupt shadow, its TPR), or Xen would not inject it now.
    Blocked,
    /// Pending, and the guest would take it now.
    Deliverable,
}

impl Event {
    /// From the ABI's `RSHADOW_EVENT_*`; anything unknown counts as pending.
    pub fn from_abi(v: i32) -> Self {
        match v {
            0 => Event::None,
            2 => Event::Deliverable,
            _ => Event::Blocked,
        }
    }
}

/// What happens to a #DB exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbVerdict {
    /// Deliver it to the guest.
    pub deliver: bool,
    /// With this DR6.
    pub dr6: u64,
}

/// Whether the instruction at the start of `insn` must be emulated by Xen
/// while stepping with TF, because running it would show or change TF, or
/// swallow a step (see the module documentation).  `long_mode`: 64-bit code.
pub fn tf_must_emulate(insn: &[u8], long_mode: bool) -> bool {
    let mut i = 0usize;
    // Legacy prefixes, then (in 64-bit code) one REX.
    while let Some(&p) = insn.get(i) {
        let legacy = matches!(
            p,
            0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3
        );
        let rex = long_mode && (0x40..=0x4f).contains(&p);
        if !legacy && !rex {
            break;
        }
        i = i.saturating_add(1);
    }
    let op = insn.get(i).copied();
    let next = insn.get(i.saturating_add(1)).copied();
    match op {
        // pushf, popf, iret, int3, int n, int1
        Some(0x9c | 0x9d | 0xcf | 0xcc | 0xcd | 0xf1) => true,
        // into and pop ss exist outside 64-bit code only.
        Some(0xce | 0x17) => !long_mode,
        // mov ss, r/m: the ModRM reg field is 2.
        Some(0x8e) => next.is_some_and(|m| (m >> 3) & 7 == 2),
        // syscall, sysret, sysenter, sysexit
        Some(0x0f) => matches!(next, Some(0x05 | 0x07 | 0x34 | 0x35)),
        _ => false,
    }
}

fn vcpu<'a>(p: *const rshadow_vcpu) -> Option<&'a VcpuState> {
    // SAFETY: every caller's contract: p is null or an initialised block.
    unsafe { VcpuState::from_ptr(p) }
}

/// Records a step and says whether the window stays open.
fn account(v: &VcpuState, step: Option<(rshadow_record, bool)>) -> i32 {
    match step {
        Some((rec, open)) => {
            VcpuStats::bump(&v.stats.steps);
            v.record(rec);
            i32::from(open)
        }
        None => i32::from(v.step().active()),
    }
}

/// Opens a window of `steps` at `rip`; see the ABI header.
///
/// # Safety
/// `v` is null or an initialised vCPU block, and the caller is that vCPU.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_begin(
    v: *const rshadow_vcpu,
    steps: u32,
    rip: u64,
    rflags: u64,
    method: u32,
) -> i32 {
    let method = if method == b::RSHADOW_STEP_TF {
        Method::Tf
    } else {
        Method::Mtf
    };
    match vcpu(v) {
        Some(v) if steps > 0 => {
            v.step().begin(steps, rip, method, rflags);
            1
        }
        _ => 0,
    }
}

/// TF stepping: the guest-visible RFLAGS after a VM exit.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_tf_exit(v: *const rshadow_vcpu, rflags: u64) -> u64 {
    vcpu(v).map_or(rflags, |v| v.step().tf_exit(rflags))
}

/// TF stepping: the RFLAGS to run with at VM entry.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_tf_entry(
    v: *const rshadow_vcpu,
    rflags: u64,
    event_pending: i32,
) -> u64 {
    vcpu(v).map_or(rflags, |v| v.step().tf_entry(rflags, event_pending != 0))
}

/// Whether Xen must emulate the next instruction; see the ABI header.
///
/// # Safety
/// `insn` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_tf_must_emulate(insn: *const u8, len: u32, long_mode: i32) -> i32 {
    if insn.is_null() {
        return 0;
    }
    // SAFETY: per the contract.
    let insn = unsafe { core::slice::from_raw_parts(insn, len as usize) };
    i32::from(tf_must_emulate(insn, long_mode != 0))
}

/// An event delivered inside the window; see the ABI header.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_event(
    v: *const rshadow_vcpu,
    handler: u64,
    rflags: u64,
    mode: u8,
) {
    if let Some(v) = vcpu(v)
        && let Some(rec) = v.step().event(handler, rflags, mode)
    {
        VcpuStats::bump(&v.stats.steps);
        v.record(rec);
    }
}

/// An MTF exit; see the ABI header.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_exit(
    v: *const rshadow_vcpu,
    rip: u64,
    rflags: u64,
    mode: u8,
) -> i32 {
    vcpu(v).map_or(0, |v| account(v, v.step().exit(rip, rflags, mode)))
}

/// Before a VM entry while stepping; see the ABI header.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_entry(
    v: *const rshadow_vcpu,
    rip: u64,
    rflags: u64,
    mode: u8,
) -> i32 {
    vcpu(v).map_or(0, |v| account(v, v.step().entry(rip, rflags, mode)))
}

/// Closes any window; see the ABI header.
///
/// # Safety
/// `v` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_cancel(v: *const rshadow_vcpu) {
    if let Some(v) = vcpu(v) {
        v.step().cancel();
    }
}

/// Before a VM entry with the window open: whether Xen goes on blocking
/// interrupt injection; see the ABI header.
///
/// # Safety
/// As for [`rshadow_step_begin`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_step_hold(
    v: *const rshadow_vcpu,
    event: i32,
    rflags: u64,
    mode: u8,
) -> i32 {
    let Some(v) = vcpu(v) else {
        return 0;
    };
    match v.step().hold(Event::from_abi(event), rflags, mode) {
        Ok(()) => i32::from(v.step().active()),
        Err(rec) => {
            v.record(rec);
            0
        }
    }
}

/// A #DB exit: whose is it?  See the ABI header.
///
/// # Safety
/// `v` is null or an initialised vCPU block; `dr6` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_debug_exit(
    v: *const rshadow_vcpu,
    dr6: *mut u64,
    rip: u64,
    rflags: u64,
    mode: u8,
) -> u32 {
    // SAFETY: per the contract.
    let (Some(v), Some(dr6)) = (vcpu(v), unsafe { dr6.as_mut() }) else {
        // Stepping with MTF raises no #DB: every one is the guest's own
        // (its TF, its breakpoints, int1), and goes to it unchanged.
        return b::RSHADOW_DB_GUEST;
    };
    let (step, verdict) = v.step().debug_exit(*dr6, rip, rflags, mode);
    *dr6 = verdict.dr6;
    let mut out = if verdict.deliver {
        b::RSHADOW_DB_GUEST
    } else {
        0
    };
    if step.is_some() {
        out |= b::RSHADOW_DB_OURS;
        if account(v, step) == 0 {
            out |= b::RSHADOW_DB_CLOSED;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_window_records_each_step_then_closes() {
        let s = StepState::default();
        assert!(s.exit(0x10, 0, 5).is_none(), "no window, no step");
        s.begin(3, 0x100, Method::Mtf, 0);
        let (r, open) = s.exit(0x102, 0x202, 5).unwrap();
        assert_eq!(
            (r.rip, r.linear, r.rflags, r.extra, open),
            (0x100, 0x102, 0x202, 0, true)
        );
        // Xen completed the next instruction itself: a step, flagged.
        assert!(s.entry(0x102, 0, 5).is_none(), "RIP did not move");
        let (r, open) = s.entry(0x104, 0, 5).unwrap();
        assert_eq!(
            (r.rip, r.linear, r.extra, r.flags, open),
            (0x102, 0x104, 1, b::RSHADOW_RECF_EMULATED as u8, true)
        );
        let (r, open) = s.exit(0x104, 0, 5).unwrap();
        // A rep iteration: same RIP.
        assert_eq!((r.rip, r.linear, r.extra, open), (0x104, 0x104, 2, false));
        assert!(!s.active());
        assert!(s.exit(0x106, 0, 5).is_none() && s.entry(0x200, 0, 5).is_none());
    }

    #[test]
    fn a_watched_access_restarts_the_window() {
        let s = StepState::default();
        s.begin(8, 0x100, Method::Mtf, 0);
        s.exit(0x102, 0, 5).unwrap();
        s.begin(2, 0x300, Method::Mtf, 0);
        let (r, _) = s.exit(0x304, 0, 5).unwrap();
        assert_eq!((r.rip, r.extra), (0x300, 0));
        s.cancel();
        assert!(!s.active());
    }

    #[test]
    fn a_held_event_waits_at_most_the_budget_left_when_it_came() {
        use Event::{Deliverable, None as Nothing};
        let s = StepState::default();
        s.begin(8, 0x100, Method::Mtf, 0);
        s.exit(0x102, 0, 5).unwrap();
        assert!(s.hold(Nothing, 0, 5).is_ok(), "nothing pending");
        // 7 steps were left when the event came; each round is two
        // instructions, a step and a watched access restarting the window.
        for i in 0..4u64 {
            assert!(s.hold(Deliverable, 0, 5).is_ok(), "held at {i}");
            s.exit(0x104, 0, 5).unwrap();
            s.begin(8, 0x104, Method::Mtf, 0);
            assert!(s.active());
        }
        let r = s.hold(Deliverable, 0x202, 5).unwrap_err();
        assert_eq!(
            (r.kind, r.rip, r.rflags, r.extra),
            (b::RSHADOW_REC_YIELD as u8, 0x104, 0x202, 0)
        );
        assert!(!s.active(), "the window yielded");
        // A new window, a new event: its own wait.
        s.begin(2, 0x200, Method::Mtf, 0);
        assert!(s.hold(Deliverable, 0, 5).is_ok());
        s.exit(0x202, 0, 5).unwrap();
        assert!(s.hold(Deliverable, 0, 5).is_ok());
        // Emulated accesses alone (a rep string instruction) count too.
        s.begin(2, 0x202, Method::Mtf, 0);
        s.begin(2, 0x202, Method::Mtf, 0);
        assert!(s.hold(Deliverable, 0, 5).is_err());
    }

    #[test]
    fn the_guest_blocking_the_event_does_not_restart_the_wait() {
        use Event::{Blocked, Deliverable, None as Nothing};
        let s = StepState::default();
        // A loop of `mov ss` (or `cli ... sti`) and a watched read: at
        // every other entry the event is blocked by the guest.
        s.begin(5, 0x100, Method::Mtf, 0);
        assert!(s.hold(Deliverable, 0, 5).is_ok(), "the wait begins: 5");
        for _ in 0..2 {
            s.exit(0x102, 0, 5).unwrap();
            assert!(s.hold(Blocked, 0, 5).is_ok());
            s.begin(5, 0x102, Method::Mtf, 0);
            assert!(s.hold(Deliverable, 0, 5).is_ok());
        }
        // The wait is over, but the event is blocked: no yield for nothing.
        s.exit(0x104, 0, 5).unwrap();
        assert!(s.hold(Blocked, 0, 5).is_ok());
        assert!(s.active());
        // The first entry where it can go in: yield.
        assert!(s.hold(Deliverable, 0, 5).is_err());
        // Nothing pending ends a wait: the next event starts its own.
        s.begin(2, 0x300, Method::Mtf, 0);
        assert!(s.hold(Deliverable, 0, 5).is_ok());
        assert!(s.hold(Nothing, 0, 5).is_ok());
        s.begin(2, 0x300, Method::Mtf, 0);
        assert!(s.hold(Deliverable, 0, 5).is_ok(), "a fresh wait");
    }

    #[test]
    fn tf_stays_hidden_and_steps_are_ours() {
        let s = StepState::default();
        // MTF windows and closed windows leave RFLAGS alone.
        assert_eq!(s.tf_entry(0x202, false), 0x202);
        s.begin(2, 0x100, Method::Tf, 0x202);
        assert_eq!(s.tf_entry(0x202, false), 0x302, "our TF added for the CPU");
        assert_eq!(s.tf_exit(0x302), 0x202, "and hidden from Xen's view");
        assert_eq!(
            s.tf_entry(0x202, true),
            0x202,
            "an event's frame shows the guest's TF"
        );
        // Our step: recorded, BS hidden, nothing delivered.
        let (step, v) = s.debug_exit(DR6_BS | 0xffff0ff0, 0x102, 0x302, 5);
        let (r, open) = step.unwrap();
        assert_eq!(
            (r.rip, r.linear, r.rflags, open),
            (0x100, 0x102, 0x202, true)
        );
        assert_eq!(
            v,
            DbVerdict {
                deliver: false,
                dr6: 0xffff0ff0
            }
        );
        // A breakpoint firing with our step: delivered, without BS.
        let (_, v) = s.debug_exit(DR6_BS | 1, 0x104, 0x302, 5);
        assert_eq!(
            v,
            DbVerdict {
                deliver: true,
                dr6: 1
            }
        );
        assert!(!s.active());
        // Not a step of ours: the guest's, unchanged.
        let (step, v) = s.debug_exit(DR6_BS, 0x106, 0x302, 5);
        assert!(step.is_none() && v.deliver && v.dr6 == DR6_BS);
    }

    #[test]
    fn the_guests_own_tf_is_kept_and_gets_its_db() {
        let s = StepState::default();
        s.begin(4, 0x100, Method::Tf, 0x302);
        assert_eq!(s.tf_exit(0x302), 0x302);
        let (step, v) = s.debug_exit(DR6_BS, 0x102, 0x302, 5);
        assert!(step.is_some());
        assert_eq!(
            v,
            DbVerdict {
                deliver: true,
                dr6: DR6_BS
            }
        );
        // The guest cleared its TF by an emulated popf: ours stays on.
        assert_eq!(s.tf_entry(0x202, false), 0x302);
        assert_eq!(s.tf_exit(0x302), 0x202);
    }

    #[test]
    fn an_event_ends_the_window_at_the_handler() {
        let s = StepState::default();
        s.begin(4, 0x100, Method::Tf, 0);
        let r = s.event(0x5000, 0x202, 5).unwrap();
        assert_eq!((r.rip, r.linear), (0x100, 0x5000));
        assert!(!s.active() && s.event(0, 0, 5).is_none());
    }

    #[test]
    fn instructions_that_would_show_tf() {
        let yes: &[&[u8]] = &[
            &[0x9c],
            &[0x66, 0x9c],
            &[0x48, 0x9d],
            &[0xcf],
            &[0x48, 0xcf],
            &[0xcc],
            &[0xcd, 0x80],
            &[0xf1],
            &[0x0f, 0x05],
            &[0x48, 0x0f, 0x07],
            &[0x0f, 0x34],
            &[0x0f, 0x35],
            &[0x8e, 0xd0],
            &[0xf3, 0x9c],
        ];
        for i in yes {
            assert!(tf_must_emulate(i, true), "{i:x?}");
        }
        let no: &[&[u8]] = &[
            &[0x90],
            &[0x8e, 0xd8],
            &[0x0f, 0xa2],
            &[0x48],
            &[],
            &[0x66],
            &[0x40, 0x90],
        ];
        for i in no {
            assert!(!tf_must_emulate(i, true), "{i:x?}");
        }
        assert!(tf_must_emulate(&[0xce], false) && !tf_must_emulate(&[0xce], true));
        assert!(tf_must_emulate(&[0x17], false));
        // No REX outside 64-bit code: 0x48 is dec eax there.
        assert!(!tf_must_emulate(&[0x48, 0x9c], false));
    }
}
