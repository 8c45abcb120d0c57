//! The control interface through the C ABI, with state blocks allocated as
//! Xen allocates them and the fake Xen answering which frames are RAM.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::undocumented_unsafe_blocks
)]

use rshadow::bindings::*;
use rshadow::control::*;
use rshadow::fault::*;
use rshadow::trace::*;
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::sync::Mutex;

unsafe extern "C" {
    fn fake_xen_set_ram(frames: u64, hole: u64);
}

// The fake's RAM map is global: tests that add watches take turns, each
// setting the map it needs.
static FAKE: Mutex<()> = Mutex::new(());

fn ram(frames: u64, hole: u64) -> std::sync::MutexGuard<'static, ()> {
    let g = FAKE.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { fake_xen_set_ram(frames, hole) };
    g
}

struct Block(*mut u8, Layout);
impl Block {
    fn new(size: u32) -> Self {
        let l = Layout::from_size_align(size as usize, RSHADOW_STATE_ALIGN as usize).unwrap();
        Block(unsafe { alloc_zeroed(l) }, l)
    }
}
impl Drop for Block {
    fn drop(&mut self) {
        unsafe { dealloc(self.0, self.1) }
    }
}

const HVM_MTF: u32 = RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP;

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

fn req(op: u32) -> rshadow_ctl {
    rshadow_ctl { op, ..REQUEST }
}

fn watch(first: u64, frames: u64, access: u32, steps: u32) -> rshadow_ctl {
    rshadow_ctl {
        op: RSHADOW_OP_ADD_WATCH,
        first_gfn: first,
        nr_frames: frames,
        access,
        steps,
        ..REQUEST
    }
}

struct Dom {
    block: Block,
    facts: rshadow_dom_facts,
}

impl Dom {
    fn enabled(flags: u32) -> Self {
        let d = Dom {
            block: Block::new(RSHADOW_DOMAIN_STATE_SIZE),
            facts: facts(flags),
        };
        unsafe { rshadow_domain_init(d.ptr(), &d.facts) };
        d
    }
    fn ptr(&self) -> *mut rshadow_domain {
        self.block.0.cast()
    }
    fn check(&self, r: &rshadow_ctl) -> i32 {
        unsafe { rshadow_ctl_check(self.ptr(), &self.facts, r) }
    }
    /// What Xen does: check, then apply under the paging lock.
    fn run(&self, r: &rshadow_ctl) -> (i32, rshadow_revoke) {
        let mut rev = rshadow_revoke::default();
        let rc = self.check(r);
        if rc != 0 {
            return (rc, rev);
        }
        (
            unsafe { rshadow_ctl_apply(self.ptr(), &self.facts, r, &mut rev) },
            rev,
        )
    }
    fn list(&self) -> Vec<rshadow_watch_info> {
        let mut out = vec![rshadow_watch_info::default(); 16];
        let n = unsafe { rshadow_watch_list(self.ptr(), 0, out.as_mut_ptr(), 16) };
        out.truncate(n as usize);
        out
    }
}

const EINVAL: i32 = -22;

#[test]
fn enable_checks() {
    let f = facts(HVM_MTF);
    let check = |dom: *const rshadow_domain, f: &rshadow_dom_facts, n: u32| {
        let r = rshadow_ctl {
            nr: n,
            ..req(RSHADOW_OP_ENABLE)
        };
        unsafe { rshadow_ctl_check(dom, f, &r) }
    };
    let none = std::ptr::null();
    assert_eq!(check(none, &f, 256), 0);
    assert_eq!(check(none, &f, 0), EINVAL);
    assert_eq!(check(none, &f, 100), EINVAL);
    assert_eq!(check(none, &f, 8), EINVAL);
    assert_eq!(check(none, &f, 1 << 17), -7);
    // All the rings together: at most 64 MiB of Xen's heap.
    let many = |vcpus| rshadow_dom_facts {
        nr_vcpus: vcpus,
        ..facts(HVM_MTF)
    };
    assert_eq!(check(none, &many(14), 1 << 16), 0, "14 x 4.5 MiB");
    assert_eq!(check(none, &many(15), 1 << 16), -7, "15 x 4.5 MiB");
    assert_eq!(check(none, &many(4096), 512), -7, "4096 x 36 KiB");
    assert_eq!(check(none, &many(4096), 16), 0, "4096 x 1.125 KiB");
    assert_eq!(check(none, &facts(0), 256), -19, "not HVM");
    assert_eq!(
        check(none, &facts(RSHADOW_DOMF_HVM | RSHADOW_DOMF_HAP), 256),
        -95
    );
    let d = Dom::enabled(HVM_MTF);
    assert_eq!(check(d.ptr(), &f, 256), -17, "already enabled");
}

#[test]
fn every_bad_request_gets_its_errno_and_changes_nothing() {
    let _g = ram(0x100000, 0x500);
    let d = Dom::enabled(HVM_MTF);
    assert_eq!(d.run(&watch(0x100, 4, RSHADOW_ACCESS_R, 8)).0, 0);
    let before = d.list();

    let mut flags = watch(0x200, 1, RSHADOW_ACCESS_R, 0);
    flags.flags = 1;
    let mut pad = watch(0x200, 1, RSHADOW_ACCESS_R, 0);
    pad.pad = 1;
    let bad_vcpu = rshadow_ctl {
        vcpu: 2,
        ..req(RSHADOW_OP_READ_TRACE)
    };
    let misaligned = rshadow_ctl {
        buf: 0x1004,
        nr: 1,
        ..req(RSHADOW_OP_READ_TRACE)
    };
    let null_buf = rshadow_ctl {
        buf: 0,
        nr: 1,
        ..req(RSHADOW_OP_LIST_WATCHES)
    };
    let big_list = rshadow_ctl {
        buf: 0x1000,
        nr: RSHADOW_MAX_WATCHES + 1,
        ..req(RSHADOW_OP_LIST_WATCHES)
    };
    let cases: &[(&str, rshadow_ctl, i32)] = &[
        ("nonzero flags", flags, EINVAL),
        ("nonzero pad", pad, EINVAL),
        ("unknown op", req(99), -38),
        ("op zero", req(0), -38),
        ("zero count", watch(0x200, 0, RSHADOW_ACCESS_R, 0), EINVAL),
        (
            "oversized count",
            watch(0x200, (1 << 20) + 1, RSHADOW_ACCESS_R, 0),
            -7,
        ),
        ("empty access", watch(0x200, 1, 0, 0), EINVAL),
        ("unknown access bit", watch(0x200, 1, 8, 0), EINVAL),
        (
            "oversized steps",
            watch(0x200, 1, RSHADOW_ACCESS_R, 4097),
            -7,
        ),
        ("beyond memory", watch(0xfffff, 2, RSHADOW_ACCESS_R, 0), -34),
        ("wraps around", watch(u64::MAX, 2, RSHADOW_ACCESS_R, 0), -34),
        ("not RAM", watch(0x4ff, 2, RSHADOW_ACCESS_R, 0), -99),
        ("overlap", watch(0x103, 2, RSHADOW_ACCESS_W, 0), -16),
        (
            "remove inexact",
            rshadow_ctl {
                op: RSHADOW_OP_REMOVE_WATCH,
                ..watch(0x100, 3, 0, 0)
            },
            -2,
        ),
        (
            "remove zero",
            rshadow_ctl {
                op: RSHADOW_OP_REMOVE_WATCH,
                ..watch(0x100, 0, 0, 0)
            },
            EINVAL,
        ),
        ("bad vcpu", bad_vcpu, EINVAL),
        ("misaligned buffer", misaligned, -14),
        ("null buffer", null_buf, -14),
        ("oversized list", big_list, -7),
    ];
    for (what, r, errno) in cases {
        assert_eq!(d.run(r).0, *errno, "{what}");
        assert_eq!(d.list(), before, "{what} changed the watches");
    }
}

#[test]
fn not_enabled_and_no_mtf() {
    let _g = ram(0x100000, u64::MAX);
    let f = facts(RSHADOW_DOMF_HVM);
    let r = watch(1, 1, RSHADOW_ACCESS_R, 0);
    assert_eq!(unsafe { rshadow_ctl_check(std::ptr::null(), &f, &r) }, -6);
    let d = Dom::enabled(RSHADOW_DOMF_HVM);
    // Watching without steps works; steps need MTF.
    assert_eq!(d.run(&watch(1, 1, RSHADOW_ACCESS_R, 0)).0, 0);
    assert_eq!(d.run(&watch(2, 1, RSHADOW_ACCESS_R, 1)).0, -95);
}

#[test]
fn full_table_is_nospc() {
    let _g = ram(0x100000, u64::MAX);
    let d = Dom::enabled(HVM_MTF);
    for i in 0..u64::from(RSHADOW_MAX_WATCHES) {
        assert_eq!(d.run(&watch(i * 2, 1, RSHADOW_ACCESS_R, 0)).0, 0);
    }
    assert_eq!(d.run(&watch(0x10001, 1, RSHADOW_ACCESS_R, 0)).0, -28);
    assert_eq!(unsafe { rshadow_watch_count(d.ptr()) }, RSHADOW_MAX_WATCHES);
}

#[test]
fn add_remove_list_and_revoke() {
    let _g = ram(0x100000, u64::MAX);
    let d = Dom::enabled(HVM_MTF);
    let (rc, rev) = d.run(&watch(0x100, 4, RSHADOW_ACCESS_R | RSHADOW_ACCESS_X, 8));
    assert_eq!((rc, rev.first_gfn, rev.nr_frames), (0, 0x100, 4));
    d.run(&watch(0x50, 1, RSHADOW_ACCESS_W, 0));
    let l = d.list();
    assert_eq!(l.len(), 2);
    assert_eq!(
        (l[0].first_gfn, l[0].nr_frames, l[0].access),
        (0x50, 1, RSHADOW_ACCESS_W)
    );
    assert_eq!((l[1].first_gfn, l[1].steps), (0x100, 8));
    // Listing from an index and past the end.
    let mut out = [rshadow_watch_info::default(); 4];
    assert_eq!(
        unsafe { rshadow_watch_list(d.ptr(), 1, out.as_mut_ptr(), 4) },
        1
    );
    assert_eq!(
        unsafe { rshadow_watch_list(d.ptr(), 9, out.as_mut_ptr(), 4) },
        0
    );
    let mut stats = rshadow_stats::default();
    unsafe { rshadow_domain_stats(d.ptr(), &mut stats) };
    assert_eq!((stats.watches, stats.watched_frames), (2, 5));

    let rm = rshadow_ctl {
        op: RSHADOW_OP_REMOVE_WATCH,
        ..watch(0x100, 4, 0, 0)
    };
    let (rc, rev) = d.run(&rm);
    assert_eq!((rc, rev.first_gfn, rev.nr_frames), (0, 0x100, 4));
    // Reset removes the rest and asks for everything to be revoked.
    let (rc, rev) = d.run(&req(RSHADOW_OP_RESET));
    assert_eq!((rc, rev.nr_frames), (0, u64::MAX));
    assert!(d.list().is_empty());
    // Nothing left: nothing to revoke.
    assert_eq!(d.run(&req(RSHADOW_OP_RESET)).1.nr_frames, 0);
}

/// A guest whose memory grew after ENABLE can be watched in its new frames:
/// apply judges by the facts of the day, as the check does, and the filter
/// still finds the old watches and the new.
#[test]
fn frames_added_after_enable_can_be_watched() {
    let _g = ram(0x400000, u64::MAX);
    let mut d = Dom::enabled(HVM_MTF);
    assert_eq!(d.run(&watch(0x100, 1, RSHADOW_ACCESS_W, 0)).0, 0);
    // Beyond the size at ENABLE.
    assert_eq!(d.run(&watch(0x300000, 1, RSHADOW_ACCESS_W, 0)).0, -34);
    d.facts.max_gfn = 0x3fffff;
    let (rc, rev) = d.run(&watch(0x300000, 2, RSHADOW_ACCESS_W, 0));
    assert_eq!((rc, rev.first_gfn, rev.nr_frames), (0, 0x300000, 2));
    let mut f = rshadow_fault::default();
    for (gfn, ours) in [(0x100, 1), (0x300001, 1), (0x300002, 0), (0x101, 0)] {
        assert_eq!(
            unsafe { rshadow_fault_check(d.ptr(), gfn, 0, RSHADOW_PFEC_WRITE, &mut f) },
            ours,
            "gfn {gfn:#x}"
        );
    }
    assert_eq!(unsafe { rshadow_l1_flags(d.ptr(), 0x300000, 3) }, 1);
}

#[test]
fn watched_fault_is_recorded_and_disable_lets_it_through() {
    let _g = ram(0x100000, u64::MAX);
    let d = Dom::enabled(HVM_MTF);
    d.run(&watch(0x100, 1, RSHADOW_ACCESS_R | RSHADOW_ACCESS_W, 4));
    let v = Block::new(RSHADOW_VCPU_STATE_SIZE);
    let vp: *mut rshadow_vcpu = v.0.cast();
    let mut ring = vec![rshadow_record::default(); 16];
    unsafe { rshadow_vcpu_init(vp, 1, ring.as_mut_ptr(), 16) };

    assert_eq!(unsafe { rshadow_l1_flags(d.ptr(), 0x100, 3) }, 2);
    let mut f = rshadow_fault::default();
    assert_eq!(
        unsafe { rshadow_fault_check(d.ptr(), 0x100, 0x100123, RSHADOW_PFEC_WRITE, &mut f) },
        1
    );
    f.rip = 0x4000;
    f.mode = RSHADOW_MODE_LONG64 as u8;
    f.nr_accesses = 2;
    f.accesses[0] = rshadow_access {
        linear: 0x100123,
        gfn: 0x100,
        gfn_last: 0x100,
        value: 0xab,
        kind: RSHADOW_REC_WRITE as u8,
        size: 1,
        flags: RSHADOW_RECF_VALUE as u8,
        ..Default::default()
    };
    // An access to an unwatched frame in the same instruction: not recorded.
    f.accesses[1] = rshadow_access {
        gfn: 0x101,
        gfn_last: 0x101,
        kind: RSHADOW_REC_READ as u8,
        ..f.accesses[0]
    };
    let input = rshadow_tail_in {
        rc: RSHADOW_EMUL_OKAY as i32,
        watched: 1,
        rflags: 0x202,
        guest_levels: 4,
        ..Default::default()
    };
    let mut out = rshadow_tail_out::default();
    unsafe { rshadow_emulation_tail(vp, d.ptr(), &f, &input, &mut out) };
    // Stepping follows, and the frame is remembered for the fast path.
    assert_eq!(out.actions, RSHADOW_TAIL_STEP | RSHADOW_TAIL_FAST_RECORD);
    assert_eq!(out.steps, 4);

    let mut recs = [rshadow_record::default(); 4];
    assert_eq!(
        unsafe { rshadow_trace_peek(vp, 0, recs.as_mut_ptr(), 4) },
        1
    );
    let r = recs[0];
    assert_eq!(
        (r.kind, r.rip, r.linear, r.gfn, r.value, r.size, r.vcpu),
        (RSHADOW_REC_WRITE as u8, 0x4000, 0x100123, 0x100, 0xab, 1, 1)
    );
    assert_eq!(r.rflags, 0x202);
    unsafe { rshadow_trace_consume(vp, 1) };
    assert_eq!(
        unsafe { rshadow_trace_peek(vp, 0, recs.as_mut_ptr(), 4) },
        0
    );

    // Unhandleable (on a repeat Xen took by its fast path): an error
    // record, and the watch is to be disabled.
    f.flags |= RSHADOW_FAULTF_FAST as u8;
    let failed = rshadow_tail_in {
        rc: RSHADOW_EMUL_UNHANDLEABLE as i32,
        ..input
    };
    unsafe { rshadow_emulation_tail(vp, d.ptr(), &f, &failed, &mut out) };
    assert_ne!(out.actions & RSHADOW_TAIL_DISABLE, 0);
    let mut rev = rshadow_revoke::default();
    unsafe { rshadow_watch_disable(d.ptr(), f.gfn, f.watch_id, &mut rev) };
    assert_eq!((rev.first_gfn, rev.nr_frames), (0x100, 1));
    assert_eq!(d.list()[0].flags, RSHADOW_WATCHF_DISABLED);
    // The frame is no longer hidden, and faults on it are not ours.
    assert_eq!(unsafe { rshadow_l1_flags(d.ptr(), 0x100, 3) }, 3);
    assert_eq!(
        unsafe { rshadow_fault_check(d.ptr(), 0x100, 0, RSHADOW_PFEC_WRITE, &mut f) },
        0
    );
    assert_eq!(
        unsafe { rshadow_trace_peek(vp, 0, recs.as_mut_ptr(), 4) },
        1
    );
    assert_eq!(
        (recs[0].kind, recs[0].extra),
        (RSHADOW_REC_ERROR as u8, RSHADOW_ERR_UNHANDLEABLE as u16)
    );

    let mut stats = rshadow_stats::default();
    unsafe { rshadow_vcpu_stats(vp, &mut stats) };
    assert_eq!(
        (
            stats.watched_faults,
            stats.emulated,
            stats.records,
            stats.errors,
            stats.fast_faults
        ),
        (2, 1, 2, 1, 1)
    );
    unsafe { rshadow_trace_clear(vp) };
    let mut stats = rshadow_stats::default();
    unsafe { rshadow_vcpu_stats(vp, &mut stats) };
    assert_eq!(stats.records, 0);
}

/// Found by tests/xtf/tests/smp-watch: another vCPU removed the watch while
/// this one emulated the access (the paging lock is dropped for the
/// emulation).  The access is then not recorded, so no steps may follow:
/// a window with no access record before it broke the trace's shape.
/// Re-added with another budget, the new watch's budget applies.
#[test]
fn watch_changed_during_emulation_steps_by_the_table_at_the_tail() {
    let _g = ram(0x100000, u64::MAX);
    let d = Dom::enabled(HVM_MTF);
    d.run(&watch(0x100, 1, RSHADOW_ACCESS_W, 4));
    let v = Block::new(RSHADOW_VCPU_STATE_SIZE);
    let vp: *mut rshadow_vcpu = v.0.cast();
    let mut ring = vec![rshadow_record::default(); 16];
    unsafe { rshadow_vcpu_init(vp, 1, ring.as_mut_ptr(), 16) };

    let mut f = rshadow_fault::default();
    assert_eq!(
        unsafe { rshadow_fault_check(d.ptr(), 0x100, 0x100008, RSHADOW_PFEC_WRITE, &mut f) },
        1
    );
    assert_eq!(f.steps, 4);
    f.nr_accesses = 1;
    f.accesses[0] = rshadow_access {
        linear: 0x100008,
        gfn: 0x100,
        gfn_last: 0x100,
        kind: RSHADOW_REC_WRITE as u8,
        size: 8,
        ..Default::default()
    };
    let input = rshadow_tail_in {
        rc: RSHADOW_EMUL_OKAY as i32,
        watched: 1,
        rflags: 0x202,
        guest_levels: 4,
        ..Default::default()
    };
    let tail = |out: &mut rshadow_tail_out| unsafe {
        rshadow_emulation_tail(vp, d.ptr(), &f, &input, out)
    };
    let records = || unsafe { rshadow_trace_len(vp) };

    // Removed meanwhile: nothing recorded, nothing stepped.
    let rm = rshadow_ctl {
        op: RSHADOW_OP_REMOVE_WATCH,
        ..watch(0x100, 1, 0, 0)
    };
    assert_eq!(d.run(&rm).0, 0);
    let mut out = rshadow_tail_out::default();
    tail(&mut out);
    assert_eq!((out.actions & RSHADOW_TAIL_STEP, out.steps), (0, 0));
    assert_eq!(records(), 0);

    // Re-added with 9 steps: recorded, and stepped by 9.
    assert_eq!(d.run(&watch(0x100, 1, RSHADOW_ACCESS_W, 9)).0, 0);
    tail(&mut out);
    assert_eq!(
        (out.actions & RSHADOW_TAIL_STEP, out.steps),
        (RSHADOW_TAIL_STEP, 9)
    );
    assert_eq!(records(), 1);

    // Re-added for reads only: a write is not recorded, so not stepped.
    assert_eq!(d.run(&rm).0, 0);
    assert_eq!(d.run(&watch(0x100, 1, RSHADOW_ACCESS_R, 9)).0, 0);
    tail(&mut out);
    assert_eq!((out.actions & RSHADOW_TAIL_STEP, out.steps), (0, 0));
    assert_eq!(records(), 1);
}

/// ADD_WATCH's RAM check in pieces of RSHADOW_RAM_CHECK_BATCH frames, as
/// the domctl takes it with continuations: the work per call is bounded,
/// the answer the same as the whole check's.
#[test]
fn ram_check_in_bounded_pieces() {
    let _g = ram(0x100000, 0x100 + 5000);
    let d = Dom::enabled(HVM_MTF);
    let batch = u64::from(RSHADOW_RAM_CHECK_BATCH);
    let bounded = |r: &rshadow_ctl, done: &mut u64| unsafe {
        rshadow_ctl_check_bounded(d.ptr(), &d.facts, r, done)
    };

    // 10,000 frames after the hole: three calls, 4096 frames at most each.
    let r = watch(0x100 + 5001, 10_000, RSHADOW_ACCESS_R, 0);
    let mut done = 0;
    let mut calls = vec![];
    loop {
        let before = done;
        let rc = bounded(&r, &mut done);
        calls.push(done - before);
        assert!(done - before <= batch);
        if rc != RSHADOW_CTL_MORE as i32 {
            assert_eq!(rc, 0);
            break;
        }
    }
    assert_eq!(calls, [batch, batch, 10_000 - 2 * batch]);
    assert_eq!(d.check(&r), 0, "the whole check agrees");

    // The hole 5000 frames in: refused in the second piece.
    let r = watch(0x100, 10_000, RSHADOW_ACCESS_R, 0);
    let mut done = 0;
    assert_eq!(bounded(&r, &mut done), RSHADOW_CTL_MORE as i32);
    assert_eq!(bounded(&r, &mut done), -99);
    assert_eq!(d.check(&r), -99);

    // Resumed part-way, only the rest is checked.
    let mut done = 9_999;
    assert_eq!(bounded(&r, &mut done), 0);
    assert_eq!(done, 10_000);

    // Errors found before the RAM check come at once; other requests are
    // checked whole.
    let mut done = 0;
    assert_eq!(
        bounded(&watch(0x100, 0, RSHADOW_ACCESS_R, 0), &mut done),
        EINVAL
    );
    assert_eq!(bounded(&req(RSHADOW_OP_GET_STATS), &mut done), 0);
    assert_eq!(done, 0);
}
