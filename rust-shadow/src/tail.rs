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
//! A watched fault differs only where it must: it never feeds the
//! fast-emulation heuristic (that path would bypass the watch), skips the
//! PAE search (stepping wants the next instructions to run, not to be
//! emulated), and when it cannot be emulated the watch is disabled so that
//! the guest can retry natively (the documented degradation policy).

use crate::bindings::{self as b, rshadow_tail_in};

fn exception_reaches_guest(i: &rshadow_tail_in) -> bool {
    let v = u32::from(i.event_vector);
    u32::from(i.event_type) == b::RSHADOW_EVENT_HW_EXCEPTION
        && (v == b::RSHADOW_VEC_PF
            || ((v == b::RSHADOW_VEC_GP || v == b::RSHADOW_VEC_SS) && i.event_error_code == 0))
}

/// The tail's actions (`RSHADOW_TAIL_*`) for an emulation outcome.
pub fn decide(i: &rshadow_tail_in) -> u32 {
    let watched = i.watched != 0;
    let fast = i.fast_emul != 0;
    let mut rc = i.rc;
    let mut a = 0;

    if rc == b::RSHADOW_EMUL_EXCEPTION as i32 {
        if exception_reaches_guest(i) {
            a |= b::RSHADOW_TAIL_INJECT_EVENT;
        } else {
            rc = b::RSHADOW_EMUL_UNHANDLEABLE as i32;
        }
    }

    if rc == b::RSHADOW_EMUL_UNHANDLEABLE as i32 || rc == b::RSHADOW_EMUL_UNIMPLEMENTED as i32 {
        if fast {
            a |= b::RSHADOW_TAIL_FAST_FAIL;
        }
        a |= b::RSHADOW_TAIL_UNSHADOW | b::RSHADOW_TAIL_FAILED;
        if watched {
            a |= b::RSHADOW_TAIL_DISABLE;
        }
        return a;
    }

    let okay = rc == b::RSHADOW_EMUL_OKAY as i32;
    if okay && i.is_pt != 0 {
        if !fast && !watched {
            a |= b::RSHADOW_TAIL_FAST_RECORD;
        }
    } else if fast {
        a |= b::RSHADOW_TAIL_FAST_FAIL;
    }

    if i.singlestep != 0 {
        a |= b::RSHADOW_TAIL_INJECT_DB;
    }

    if !watched && i.guest_levels == 3 && okay && i.retire_raw == 0 {
        a |= b::RSHADOW_TAIL_PAE_EXTRA;
    }
    a
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
