//! The module's emulation tail against a C transcription of Xen 4.17's
//! original (fake-xen/tail_ref.c), over every combination of its inputs,
//! through the same C ABI Xen calls.
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use rshadow::bindings::*;
use rshadow::fault::rshadow_emulation_tail;
use rshadow::tail::{rshadow_pae_extra, rshadow_tail_decide};

unsafe extern "C" {
    fn ref_emulation_tail(input: *const rshadow_tail_in) -> u32;
    fn ref_pae_extra(input: *const rshadow_tail_in, actions: *mut u32) -> i32;
}

const RCS: [u32; 7] = [
    RSHADOW_EMUL_OKAY,
    RSHADOW_EMUL_UNHANDLEABLE,
    RSHADOW_EMUL_EXCEPTION,
    RSHADOW_EMUL_RETRY,
    RSHADOW_EMUL_DONE,
    RSHADOW_EMUL_UNIMPLEMENTED,
    RSHADOW_EMUL_CMPXCHG_FAILED,
];

/// Every input the tail looks at, unwatched.
fn all_inputs() -> impl Iterator<Item = rshadow_tail_in> {
    let mut v = Vec::new();
    for rc in RCS {
        for event_type in [0u8, 2, 3, 4, 6] {
            for event_vector in [1u8, 6, 12, 13, 14, 17] {
                for ec in [0i32, 4, -1] {
                    for bits in 0..32u32 {
                        for levels in [2u8, 3, 4] {
                            v.push(rshadow_tail_in {
                                rc: rc as i32,
                                event_type,
                                event_vector,
                                event_error_code: ec,
                                fast_emul: (bits & 1) as u8,
                                is_pt: (bits >> 1 & 1) as u8,
                                singlestep: (bits >> 2 & 1) as u8,
                                retire_raw: (bits >> 3 & 1) as u8,
                                guest_levels: levels,
                                rip: u64::from(bits >> 4),
                                ..Default::default()
                            });
                        }
                    }
                }
            }
        }
    }
    v.into_iter()
}

#[test]
fn unwatched_tail_matches_xen_case_by_case() {
    let mut cases = 0;
    for input in all_inputs() {
        // SAFETY: a live input.
        let want = unsafe { ref_emulation_tail(&input) };
        let mut out = rshadow_tail_out::default();
        // SAFETY: null state blocks are allowed; input/out are live.
        unsafe {
            rshadow_emulation_tail(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &input,
                &mut out,
            )
        };
        assert_eq!(out.actions, want, "{input:?}");
        assert_eq!(out.steps, 0);
        // The scalar entry point Xen uses for unwatched faults agrees, given
        // everything or, as private.h calls it, the page-table check only
        // for an emulation that went well and the event only for one that
        // raised an exception.
        let flags = (u32::from(input.fast_emul) * RSHADOW_TAILF_FAST)
            | (u32::from(input.singlestep) * RSHADOW_TAILF_SINGLESTEP)
            | (u32::from(input.retire_raw) * RSHADOW_TAILF_RAW)
            | (u32::from(input.guest_levels) << RSHADOW_TAILF_LEVELS_SHIFT);
        let pt = u32::from(input.is_pt) * RSHADOW_TAILF_PT;
        let event = (u32::from(input.event_type) << 8) | u32::from(input.event_vector);
        let (rc, ec) = (input.rc, input.event_error_code);
        assert_eq!(
            rshadow_tail_decide(rc, event, ec, flags | pt),
            want,
            "{input:?}"
        );
        let okay = rc == RSHADOW_EMUL_OKAY as i32;
        let exception = rc == RSHADOW_EMUL_EXCEPTION as i32;
        let lean = rshadow_tail_decide(
            rc,
            if exception { event } else { 0 },
            if exception { ec } else { 0 },
            flags | if okay { pt } else { 0 },
        );
        assert_eq!(lean, want, "{input:?} as private.h calls it");
        cases += 1;
    }
    assert_eq!(cases, 7 * 5 * 6 * 3 * 32 * 3);
}

#[test]
fn pae_second_half_search_matches_xen() {
    for input in all_inputs() {
        let (mut want, mut got) = (0, 0);
        // SAFETY: live input and outputs.
        let (go_ref, go) = unsafe {
            (
                ref_pae_extra(&input, &mut want),
                rshadow_pae_extra(&input, &mut got),
            )
        };
        assert_eq!((go, got), (go_ref, want), "{input:?}");
    }
}

#[test]
fn watched_faults_differ_only_where_documented() {
    for mut input in all_inputs() {
        // SAFETY: a live input.
        let unwatched = unsafe { ref_emulation_tail(&input) };
        input.watched = 1;
        // With no state blocks, only the decision is made.
        let mut out = rshadow_tail_out::default();
        // SAFETY: as above.
        unsafe {
            rshadow_emulation_tail(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &input,
                &mut out,
            )
        };
        let expect = if input.rc == RSHADOW_EMUL_OKAY as i32 {
            // Remembered for the module's fast path, whatever the frame.
            RSHADOW_TAIL_FAST_RECORD | (unwatched & RSHADOW_TAIL_INJECT_DB)
        } else if input.rc == RSHADOW_EMUL_EXCEPTION as i32
            && u32::from(input.event_type) == RSHADOW_EVENT_HW_EXCEPTION
        {
            // Every hardware exception reaches the guest, and the watch
            // stays on: no failure, no disabling.  (Software events keep
            // Xen's rule below, and so degrade.)
            RSHADOW_TAIL_INJECT_EVENT
                | if input.fast_emul != 0 {
                    RSHADOW_TAIL_FAST_FAIL
                } else {
                    0
                }
                | if input.singlestep != 0 {
                    RSHADOW_TAIL_INJECT_DB
                } else {
                    0
                }
        } else if unwatched & RSHADOW_TAIL_FAILED != 0 {
            unwatched | RSHADOW_TAIL_DISABLE
        } else {
            unwatched & !RSHADOW_TAIL_PAE_EXTRA
        };
        assert_eq!(out.actions, expect, "{input:?}");
    }
}
