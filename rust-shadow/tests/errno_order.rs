//! Regression test: a request with two faults gets the errno of the check
//! that comes first in the table at the top of src/control.rs.  The table
//! used to list every EINVAL of a watch before every E2BIG, ENABLE's EINVAL
//! before its E2BIG, and the READ_TRACE capacity before its vCPU; the code
//! checks in the other order in each case, and the table now says so.  (Found
//! by tests/properties.rs, whose model follows the table.)
#![allow(clippy::unwrap_used, clippy::undocumented_unsafe_blocks)]

use rshadow::bindings::*;
use rshadow::control::*;
use std::alloc::{Layout, alloc_zeroed, dealloc};

const EINVAL: i32 = -22;
const E2BIG: i32 = -7;
const EOPNOTSUPP: i32 = -95;
const EFAULT: i32 = -14;

fn facts(flags: u32) -> rshadow_dom_facts {
    rshadow_dom_facts {
        domid: 1,
        flags,
        hvm: RSHADOW_HVM_VMX,
        nr_vcpus: 2,
        max_gfn: 0xfffff,
        xen_handle: 0,
    }
}

fn add(frames: u64, access: u32, steps: u32) -> rshadow_ctl {
    rshadow_ctl {
        op: RSHADOW_OP_ADD_WATCH,
        first_gfn: 0x100,
        nr_frames: frames,
        access,
        steps,
        ..REQUEST
    }
}

fn read(vcpu: u32, nr: u32, buf: u64) -> rshadow_ctl {
    rshadow_ctl {
        op: RSHADOW_OP_READ_TRACE,
        vcpu,
        nr,
        buf,
        ..REQUEST
    }
}

#[test]
fn two_faults_get_the_errno_of_the_first_documented_check() {
    let f = facts(RSHADOW_DOMF_HVM);
    // Not a power of two and above the maximum: the maximum is checked
    // first.
    let enable = rshadow_ctl {
        op: RSHADOW_OP_ENABLE,
        nr: 100_000,
        ..REQUEST
    };
    assert_eq!(
        unsafe { rshadow_ctl_check(std::ptr::null(), &f, &enable) },
        E2BIG
    );

    let layout = Layout::from_size_align(
        RSHADOW_DOMAIN_STATE_SIZE as usize,
        RSHADOW_STATE_ALIGN as usize,
    )
    .unwrap();
    let block = unsafe { alloc_zeroed(layout) };
    assert!(!block.is_null());
    let dom: *mut rshadow_domain = block.cast();
    unsafe { rshadow_domain_init(dom, &f) };
    let check = |r: &rshadow_ctl| unsafe { rshadow_ctl_check(dom, &f, r) };

    let too_many = u64::from(RSHADOW_MAX_WATCH_FRAMES) + 1;
    let cases: &[(&str, rshadow_ctl, i32)] = &[
        ("count too big, empty access", add(too_many, 0, 0), E2BIG),
        ("count zero, empty access", add(0, 0, 0), EINVAL),
        (
            "unknown access, steps too big",
            add(1, 8, RSHADOW_MAX_STEPS + 1),
            EINVAL,
        ),
        (
            "steps too big where stepping is unavailable",
            add(1, RSHADOW_ACCESS_R, RSHADOW_MAX_STEPS + 1),
            E2BIG,
        ),
        (
            "steps unavailable, beyond memory",
            add(1 << 20, RSHADOW_ACCESS_R, 1),
            EOPNOTSUPP,
        ),
        (
            "bad vCPU, capacity too big",
            read(2, RSHADOW_RING_MAX + 1, 0x1000),
            EINVAL,
        ),
        (
            "capacity too big, misaligned buffer",
            read(0, RSHADOW_RING_MAX + 1, 0x1004),
            E2BIG,
        ),
        ("good capacity, null buffer", read(0, 1, 0), EFAULT),
    ];
    for (what, r, errno) in cases {
        assert_eq!(check(r), *errno, "{what}");
    }
    unsafe { dealloc(block, layout) };
}
