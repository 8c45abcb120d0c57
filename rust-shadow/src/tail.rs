//! The decisions of sh_page_fault()'s emulation tail: what Xen does once
//! x86_emulate() has returned.
//!
//! For a fault on an unwatched frame these are exactly Xen 4.17's own
//! (multi.c), which the host tests check case by case against a C
//! transcription of the original:
//!  - an exception raised by the emulation reaches the guest only if it is
//!    a #PF, or a #GP(0)/#SS(0); anything else counts as unhandleable;
//!  - an unhandleable instruction unshadows the frame (it was probably not
//!    a page table after all) and ends the tail;
//!  - the fast-emulation heuristic remembers a frame that emulated well as
//!    a page table, and forgets it otherwise;
//!  - the guest's own TF gets its #DB;
//!  - a PAE guest gets up to four more instructions emulated, looking for
//!    the second half of a 64-bit PTE write.
//!
//! A watched fault differs only where it must: once emulated, its frame is
//! remembered for rust-shadow's own fast path, which checks the watch again
//! (Xen's would bypass it), rather than by the page-table heuristic; it
//! skips the PAE search (stepping wants the next instructions to run, not
//! to be emulated); every hardware exception the emulated instruction
//! raises reaches the guest, as it would natively (x86_emulate() models
//! the instruction, so what it raises is architectural: #DE, #UD, #NM,
//! #MF, #XM, #AC, #GP, #SS, #PF, #BR), and the watch stays on; and when it
//! cannot be emulated at all, it fails here, and the watch is disabled so
//! that the guest can retry natively (the last resort).  "At all": what the
//! shadow emulator gives up on, Xen's glue emulates again with its HVM
//! emulator; what that cannot do either, the glue runs natively, its frame
//! opened to the vCPU for one step ([`crate::fault::native_open`]), and
//! this tail is reached only when that could not be done.
//!
//! A software event (`int n`, `int3`, `into`, `int1`) is not injected: the
//! shadow code emulates one only when delivering it touched a watched
//! frame (the IDT or the handler's stack), and injecting it repeats that
//! delivery, which Xen cannot emulate.  The glue runs it natively, as
//! above; failing that it degrades here.

use crate::bindings::{self as b, rshadow_tail_in};

/// Whether an exception the emulation raised is one the guest may get.
fn exception_reaches_guest(event: u32, error_code: i32) -> bool {
    let v = event & 0xff;
    event >> 8 == b::RSHADOW_EVENT_HW_EXCEPTION
        && (v == b::RSHADOW_VEC_PF
            || ((v == b::RSHADOW_VEC_GP || v == b::RSHADOW_VEC_SS) && error_code == 0))
}

/// The tail's actions (`RSHADOW_TAIL_*`) for an emulation outcome.
pub fn decide(i: &rshadow_tail_in) -> u32 {
    let bit = |set: u8, f: u32| if set != 0 { f } else { 0 };
    let flags = bit(i.fast_emul, b::RSHADOW_TAILF_FAST)
        | bit(i.is_pt, b::RSHADOW_TAILF_PT)
        | bit(i.singlestep, b::RSHADOW_TAILF_SINGLESTEP)
        | bit(i.retire_raw, b::RSHADOW_TAILF_RAW)
        | u32::from(i.guest_levels) << b::RSHADOW_TAILF_LEVELS_SHIFT;
    let event = u32::from(i.event_type) << 8 | u32::from(i.event_vector);
    decide_scalar(i.rc, event, i.event_error_code, flags, i.watched != 0)
}

const LEVELS_MASK: u32 = 0xff << b::RSHADOW_TAILF_LEVELS_SHIFT;

fn singlestep_db(flags: u32) -> u32 {
    if flags & b::RSHADOW_TAILF_SINGLESTEP != 0 {
        b::RSHADOW_TAIL_INJECT_DB
    } else {
        0
    }
}

/// [`decide`] from scalars.  Every emulated page-table write comes here,
/// nearly always having gone well: that case is kept short.
#[inline(always)]
fn decide_scalar(rc: i32, event: u32, error_code: i32, flags: u32, watched: bool) -> u32 {
    if rc != b::RSHADOW_EMUL_OKAY as i32 {
        return decide_not_okay(rc, event, error_code, flags, watched);
    }
    if watched {
        // Remembered for rust-shadow's own fast path, which checks the
        // watch again (rshadow.c); no PAE search, the steps follow.
        return b::RSHADOW_TAIL_FAST_RECORD | singlestep_db(flags);
    }
    // The fast-emulation heuristic by FAST and PT (bits 0 and 1 of flags):
    // neither or both, nothing; fast but no page table, forget the frame; a
    // page table emulated the slow way, remember it.
    const _: () = assert!(b::RSHADOW_TAILF_FAST == 1 && b::RSHADOW_TAILF_PT == 2);
    let by_fast_pt = (b::RSHADOW_TAIL_FAST_FAIL << 8) | (b::RSHADOW_TAIL_FAST_RECORD << 16);
    let heuristic = by_fast_pt.wrapping_shr((flags & 3).wrapping_mul(8)) & 0xff;
    let levels_raw = flags & (LEVELS_MASK | b::RSHADOW_TAILF_RAW);
    let pae = if levels_raw == 3 << b::RSHADOW_TAILF_LEVELS_SHIFT {
        b::RSHADOW_TAIL_PAE_EXTRA
    } else {
        0
    };
    heuristic | singlestep_db(flags) | pae
}

#[cold]
#[inline(never)]
fn decide_not_okay(rc: i32, event: u32, error_code: i32, flags: u32, watched: bool) -> u32 {
    let fast = if flags & b::RSHADOW_TAILF_FAST != 0 {
        b::RSHADOW_TAIL_FAST_FAIL
    } else {
        0
    };
    let mut a = 0;
    let mut rc = rc;
    if rc == b::RSHADOW_EMUL_EXCEPTION as i32 {
        // Xen's own filter is for page-table writes; a watched instruction
        // is the guest's, and gets the exception it raised.
        let hw = event >> 8 == b::RSHADOW_EVENT_HW_EXCEPTION;
        if (watched && hw) || exception_reaches_guest(event, error_code) {
            a |= b::RSHADOW_TAIL_INJECT_EVENT;
        } else {
            rc = b::RSHADOW_EMUL_UNHANDLEABLE as i32;
        }
    }

    if rc == b::RSHADOW_EMUL_UNHANDLEABLE as i32 || rc == b::RSHADOW_EMUL_UNIMPLEMENTED as i32 {
        let disable = if watched { b::RSHADOW_TAIL_DISABLE } else { 0 };
        return a | fast | b::RSHADOW_TAIL_UNSHADOW | b::RSHADOW_TAIL_FAILED | disable;
    }

    // Neither failed nor okay (an exception for the guest, a retry): the
    // frame is no longer one to emulate fast.
    a | fast | singlestep_db(flags)
}

/// See `rshadow_tail_decide` in the ABI header: [`decide`] for an
/// unwatched fault, from scalars.
#[unsafe(no_mangle)]
pub extern "C" fn rshadow_tail_decide(rc: i32, event: u32, error_code: i32, flags: u32) -> u32 {
    decide_scalar(rc, event, error_code, flags, false)
}

/// One instruction of the PAE second-half search: whether to go on, and
/// the `RSHADOW_PAE_*` / `RSHADOW_TAIL_INJECT_DB` actions.
pub fn pae_extra(i: &rshadow_tail_in) -> (bool, u32) {
    if i.rc == b::RSHADOW_EMUL_OKAY as i32 && i.retire_raw == 0 {
        if i.is_pt != 0 {
            (false, b::RSHADOW_PAE_COUNTED | b::RSHADOW_PAE_PT)
        } else {
            (true, b::RSHADOW_PAE_COUNTED)
        }
    } else {
        let db = if i.singlestep != 0 {
            b::RSHADOW_TAIL_INJECT_DB
        } else {
            0
        };
        (false, b::RSHADOW_PAE_FAILED | db)
    }
}

/// See `rshadow_pae_extra` in the ABI header.
///
/// # Safety
/// `input` is readable and `actions` writable (either may be null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_pae_extra(
    input: *const rshadow_tail_in,
    actions: *mut u32,
) -> i32 {
    // SAFETY: per the contract.
    let Some(i) = (unsafe { input.as_ref() }) else {
        return 0;
    };
    let (go, a) = pae_extra(i);
    // SAFETY: per the contract.
    if let Some(out) = unsafe { actions.as_mut() } {
        *out = a;
    }
    i32::from(go)
}
