//! Properties of the control interface and the watch table: any sequence of
//! requests, valid or not, leaves the table well formed and equal to a
//! reference model built from the documented semantics (tests/model), and
//! lookups, shadow flags and watched faults agree with that model.
//!
//! Requests go through the C ABI exactly as Xen's glue sends them (see
//! tests/model/harness.rs), with the fake Xen answering which frames are RAM.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::undocumented_unsafe_blocks
)]

mod model;

use model::Ram;
use model::harness::Sim;
use proptest::prelude::*;
use rshadow::bindings::*;
use rshadow::control::REQUEST;
use std::sync::Mutex;

// The fake's RAM map is global: take turns with any other test in this
// binary that sets it.
static FAKE: Mutex<()> = Mutex::new(());

/// One step of a case.
#[derive(Clone, Debug)]
enum Step {
    /// A request, as a caller of the domctl sends it.
    Ctl(rshadow_ctl),
    /// REMOVE_WATCH of the `idx`-th watch (modulo the count), its frame
    /// count off by `skew` (0 most often), so removals mostly hit.
    RemoveNth {
        idx: usize,
        skew: i8,
    },
    /// `rshadow_ctl_apply` without a check first.
    RawApply(rshadow_ctl),
    /// The fault path switches a watch off.
    DisableWatch(u32),
    /// Single-frame watches from `base` until the table is full.
    Fill {
        base: u64,
        stride: u64,
    },
    /// The domain's memory changes after ENABLE.
    MaxGfn(u64),
    Ram(Ram),
    /// Records on a vCPU, so RESET and READ_TRACE have work.
    Record {
        vcpu: usize,
        n: u32,
    },
}

fn gfn() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..0x40,
        2 => 0xff0u64..0x1010,
        1 => 0xfff00u64..0x100010,
        1 => (u64::MAX - 4)..=u64::MAX,
        1 => any::<u64>(),
    ]
}

fn frames() -> impl Strategy<Value = u64> {
    let max = u64::from(RSHADOW_MAX_WATCH_FRAMES);
    prop_oneof![
        12 => 1u64..8,
        1 => Just(0u64),
        1 => (max - 1)..=(max + 1),
        1 => any::<u64>(),
    ]
}

fn access() -> impl Strategy<Value = u32> {
    prop_oneof![12 => 1u32..8, 1 => 0u32..16, 1 => any::<u32>()]
}

fn steps() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => Just(0u32),
        3 => 1u32..4,
        1 => (RSHADOW_MAX_STEPS - 1)..=(RSHADOW_MAX_STEPS + 1),
        1 => any::<u32>(),
    ]
}

fn op() -> impl Strategy<Value = u32> {
    prop_oneof![
        10 => Just(RSHADOW_OP_ADD_WATCH),
        4 => Just(RSHADOW_OP_REMOVE_WATCH),
        1 => Just(RSHADOW_OP_ENABLE),
        1 => Just(RSHADOW_OP_DISABLE),
        1 => Just(RSHADOW_OP_RESET),
        2 => Just(RSHADOW_OP_LIST_WATCHES),
        2 => Just(RSHADOW_OP_READ_TRACE),
        1 => Just(RSHADOW_OP_GET_STATS),
        1 => Just(RSHADOW_OP_NOTIFY),
        1 => any::<u32>(),
    ]
}

/// NOTIFY's threshold and latency: mostly valid, and their edges.
fn notify() -> impl Strategy<Value = (u32, u32)> {
    (
        prop_oneof![
            3 => 0u32..64,
            1 => (RSHADOW_RING_MAX - 1)..=(RSHADOW_RING_MAX + 1),
            1 => any::<u32>(),
        ],
        prop_oneof![
            3 => Just(0u32),
            2 => (RSHADOW_NOTIFY_MIN_US - 1)..=(RSHADOW_NOTIFY_MIN_US + 1),
            2 => (RSHADOW_NOTIFY_MAX_US - 1)..=(RSHADOW_NOTIFY_MAX_US + 1),
            1 => any::<u32>(),
        ],
    )
}

/// `nr`: a ring size for ENABLE, a capacity for LIST and READ_TRACE.
fn nr() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => (4u32..7).prop_map(|k| 1 << k),
        2 => 0u32..40,
        1 => (RSHADOW_MAX_WATCHES - 1)..=(RSHADOW_MAX_WATCHES + 1),
        1 => (RSHADOW_RING_MAX - 1)..=(RSHADOW_RING_MAX + 1),
        1 => any::<u32>(),
    ]
}

fn ctl() -> impl Strategy<Value = rshadow_ctl> {
    (
        (op(), gfn(), frames(), access(), steps()),
        (nr(), 0u32..8, 0u32..4),
        (prop_oneof![4 => Just(0x1000u64), 1 => Just(0u64), 1 => any::<u64>()]),
        // flags, pad: almost always zero.
        (prop_oneof![12 => Just(0u32), 1 => any::<u32>()]),
        (
            prop_oneof![12 => Just(0u32), 1 => any::<u32>()],
            // version: almost always this interface's.
            prop_oneof![12 => Just(RSHADOW_INTERFACE_VERSION), 1 => any::<u32>()],
            prop_oneof![12 => Just(0u32), 1 => any::<u32>()],
        ),
        notify(),
    )
        .prop_map(
            |(
                (op, first_gfn, nr_frames, access, steps),
                (nr, start, vcpu),
                buf,
                flags,
                (pad, version, pad2),
                (threshold, latency_us),
            )| {
                rshadow_ctl {
                    op,
                    vcpu,
                    first_gfn,
                    nr_frames,
                    access,
                    steps,
                    nr,
                    start,
                    buf,
                    flags,
                    pad,
                    version,
                    pad2,
                    threshold,
                    latency_us,
                }
            },
        )
}

fn ram() -> impl Strategy<Value = Ram> {
    (
        prop_oneof![
            4 => Just(0x100000u64),
            2 => Just(0x1000u64),
            1 => 0u64..0x40,
            1 => any::<u64>(),
        ],
        prop_oneof![Just(u64::MAX), 0u64..0x40, 0xff0u64..0x1010],
    )
        .prop_map(|(frames, hole)| Ram { frames, hole })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => ctl().prop_map(Step::Ctl),
        5 => (any::<usize>(), prop_oneof![6 => Just(0i8), 1 => -1i8..=1])
            .prop_map(|(idx, skew)| Step::RemoveNth { idx, skew }),
        2 => ctl().prop_map(Step::RawApply),
        2 => (0u32..6).prop_map(Step::DisableWatch),
        1 => prop_oneof![Just(0xfffffu64), 0u64..0x2000, any::<u64>()].prop_map(Step::MaxGfn),
        1 => ram().prop_map(Step::Ram),
        2 => (0usize..3, 0u32..40).prop_map(|(vcpu, n)| Step::Record { vcpu, n }),
    ]
}

fn facts() -> impl Strategy<Value = rshadow_dom_facts> {
    (
        prop_oneof![
            8 => Just(RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP),
            4 => Just(RSHADOW_DOMF_HVM),
            1 => Just(RSHADOW_DOMF_HVM | RSHADOW_DOMF_HAP),
            1 => 0u32..16,
        ],
        1u32..4,
        prop_oneof![
            4 => Just(0xfffffu64),
            2 => 0x10u64..0x2000,
            1 => Just(0x100000u64),
            1 => any::<u64>(),
        ],
    )
        .prop_map(|(flags, nr_vcpus, max_gfn)| rshadow_dom_facts {
            domid: 1,
            flags,
            hvm: RSHADOW_HVM_VMX,
            nr_vcpus,
            max_gfn,
            xen_handle: 0,
        })
}

fn run(sim: &mut Sim, step: &Step) {
    match *step {
        Step::Ctl(r) => {
            sim.control(&r);
        }
        Step::RemoveNth { idx, skew } => {
            let list = sim.model.list();
            let (first, frames) = match list.get(idx % list.len().max(1)) {
                Some(w) => (w.first_gfn, w.nr_frames.wrapping_add_signed(skew.into())),
                None => (0, 1),
            };
            sim.control(&rshadow_ctl {
                op: RSHADOW_OP_REMOVE_WATCH,
                first_gfn: first,
                nr_frames: frames,
                ..REQUEST
            });
        }
        Step::RawApply(r) => {
            sim.apply(&r);
        }
        Step::DisableWatch(i) => sim.disable_watch(i),
        Step::Fill { base, stride } => {
            let max = RSHADOW_MAX_WATCHES as usize;
            let mut gfn = base;
            // Bounded: the table holds at most `max` watches.
            for _ in 0..max * 2 {
                if sim.model.watches.len() >= max {
                    break;
                }
                let rc = sim.control(&rshadow_ctl {
                    op: RSHADOW_OP_ADD_WATCH,
                    first_gfn: gfn,
                    nr_frames: 1,
                    access: RSHADOW_ACCESS_W,
                    ..REQUEST
                });
                // Past the domain's memory or RAM, or not enabled: stop.
                if rc != 0 && rc != model::EBUSY {
                    break;
                }
                gfn = gfn.wrapping_add(stride);
            }
            // One more: ENOSPC if full (the model says which).
            sim.control(&rshadow_ctl {
                op: RSHADOW_OP_ADD_WATCH,
                first_gfn: gfn,
                nr_frames: 1,
                access: RSHADOW_ACCESS_W,
                ..REQUEST
            });
        }
        Step::MaxGfn(m) => sim.facts.max_gfn = m,
        Step::Ram(r) => sim.change_ram(r),
        Step::Record { vcpu, n } => sim.record(vcpu, n),
    }
}

fn enable_first() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![9 => (4u32..9).prop_map(|k| Some(1 << k)), 1 => Just(None)]
}

proptest! {
    // Debug builds: 256 cases of up to 48 steps take a few seconds.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn control_sequences_keep_the_table_equal_to_the_model(
        facts in facts(),
        ram in ram(),
        enable in enable_first(),
        steps in prop::collection::vec(step(), 1..48),
        probes in prop::collection::vec(gfn(), 0..8),
    ) {
        let _g = FAKE.lock().unwrap_or_else(|e| e.into_inner());
        let mut sim = Sim::new(facts, ram);
        if let Some(nr) = enable {
            sim.control(&rshadow_ctl { op: RSHADOW_OP_ENABLE, nr, ..REQUEST });
        }
        sim.check_all(&probes);
        for s in &steps {
            run(&mut sim, s);
            sim.check_all(&probes);
        }
    }
}

proptest! {
    // A full table is slow to build in a debug build: few cases, short
    // sequences after it.
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_full_table_behaves_like_the_model(
        base in prop_oneof![0u64..0x40, 0x7f000u64..0x7f100],
        stride in 1u64..3,
        steps in prop::collection::vec(step(), 1..16),
    ) {
        let _g = FAKE.lock().unwrap_or_else(|e| e.into_inner());
        let facts = rshadow_dom_facts {
            domid: 1,
            flags: RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP,
            hvm: RSHADOW_HVM_VMX,
            nr_vcpus: 2,
            max_gfn: 0xfffff,
            xen_handle: 0,
        };
        let mut sim = Sim::new(facts, Ram { frames: 0x100000, hole: u64::MAX });
        sim.control(&rshadow_ctl { op: RSHADOW_OP_ENABLE, nr: 16, ..REQUEST });
        run(&mut sim, &Step::Fill { base, stride });
        prop_assert_eq!(sim.model.watches.len(), RSHADOW_MAX_WATCHES as usize);
        let one_more = rshadow_ctl {
            op: RSHADOW_OP_ADD_WATCH,
            first_gfn: 0xf0000,
            nr_frames: 1,
            access: RSHADOW_ACCESS_R,
            ..REQUEST
        };
        prop_assert_eq!(sim.control(&one_more), model::ENOSPC);
        sim.check_all(&[]);
        for s in &steps {
            run(&mut sim, s);
            sim.check_all(&[]);
        }
    }
}

/// The same checks on one hand-written sequence, so a plain failure here
/// is easy to read: watches, an overlap, a removal, a disabled watch and a
/// reset, on a guest over 4 GiB (filter granules of two frames).
#[test]
fn model_agrees_on_a_simple_sequence() {
    let _g = FAKE.lock().unwrap_or_else(|e| e.into_inner());
    let facts = rshadow_dom_facts {
        domid: 1,
        flags: RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP,
        hvm: RSHADOW_HVM_VMX,
        nr_vcpus: 2,
        max_gfn: 0x1fffff,
        xen_handle: 0,
    };
    let mut sim = Sim::new(
        facts,
        Ram {
            frames: 0x200000,
            hole: u64::MAX,
        },
    );
    let add = |first, frames, access| rshadow_ctl {
        op: RSHADOW_OP_ADD_WATCH,
        first_gfn: first,
        nr_frames: frames,
        access,
        ..REQUEST
    };
    let enable = rshadow_ctl {
        op: RSHADOW_OP_ENABLE,
        nr: 16,
        ..REQUEST
    };
    assert_eq!(sim.control(&enable), 0);
    assert_eq!(sim.control(&add(0x100001, 3, RSHADOW_ACCESS_X)), 0);
    assert_eq!(sim.control(&add(0x10, 1, RSHADOW_ACCESS_W)), 0);
    assert_eq!(
        sim.control(&add(0x100003, 1, RSHADOW_ACCESS_R)),
        model::EBUSY
    );
    sim.check_all(&[0x100000, 0x100004, 0x11]);
    sim.disable_watch(1);
    sim.record(1, 20);
    sim.check_all(&[0x100002]);
    let remove = rshadow_ctl {
        op: RSHADOW_OP_REMOVE_WATCH,
        ..add(0x10, 1, 0)
    };
    assert_eq!(sim.control(&remove), 0);
    assert_eq!(sim.control(&remove), model::ENOENT);
    let reset = rshadow_ctl {
        op: RSHADOW_OP_RESET,
        ..REQUEST
    };
    assert_eq!(sim.control(&reset), 0);
    sim.check_all(&[0x100002]);
}
