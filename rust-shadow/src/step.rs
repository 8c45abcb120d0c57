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
}

impl StepState {
    /// Whether a window is open.
    pub fn active(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) != 0
    }

    /// Opens a window of `steps` at `rip` (restarting any open one).
    pub fn begin(&self, steps: u32, rip: u64) {
        self.index.store(0, Ordering::Relaxed);
        self.next_rip.store(rip, Ordering::Relaxed);
        self.remaining
            .store(steps.min(b::RSHADOW_MAX_STEPS), Ordering::Relaxed);
    }

    /// Closes the window.
    pub fn cancel(&self) {
        self.remaining.store(0, Ordering::Relaxed);
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
        let left = self.remaining.load(Ordering::Relaxed).saturating_sub(1);
        self.remaining.store(left, Ordering::Relaxed);
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
pub unsafe extern "C" fn rshadow_step_begin(v: *const rshadow_vcpu, steps: u32, rip: u64) -> i32 {
    match vcpu(v) {
        Some(v) if steps > 0 => {
            v.step().begin(steps, rip);
            1
        }
        _ => 0,
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

/// A #DB exit: whose is it?  See the ABI header.
///
/// # Safety
/// `v` is null or an initialised vCPU block.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_debug_exit(v: *const rshadow_vcpu, dr6: u64, rip: u64) -> u32 {
    // Stepping with MTF raises no #DB: every one is the guest's own (its TF,
    // its breakpoints, int1), and goes to it unchanged.
    let _ = (vcpu(v), dr6, rip);
    b::RSHADOW_DB_GUEST
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_window_records_each_step_then_closes() {
        let s = StepState::default();
        assert!(s.exit(0x10, 0, 5).is_none(), "no window, no step");
        s.begin(3, 0x100);
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
        s.begin(8, 0x100);
        s.exit(0x102, 0, 5).unwrap();
        s.begin(2, 0x300);
        let (r, _) = s.exit(0x304, 0, 5).unwrap();
        assert_eq!((r.rip, r.extra), (0x300, 0));
        s.cancel();
        assert!(!s.active());
    }
}
