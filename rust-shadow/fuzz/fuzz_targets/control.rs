//! The control interface, through the C entry points Xen calls: the input
//! chooses the domain's facts and RAM map (or a domain with a full table),
//! then a sequence of requests
//! (valid, invalid, and `rshadow_ctl_apply` without a check), watch
//! switch-offs from the fault path, records, and changes to the domain's
//! memory.  The harness shared with tests/properties.rs checks every answer
//! against the reference model (exact errno, from the documented set),
//! that a refusal changes nothing, and after each step the watch table's
//! invariants, lookups, shadow flags and watched faults.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rshadow::bindings::*;
use rshadow::control::REQUEST;

#[path = "../../tests/model/mod.rs"]
mod model;

use model::Ram;
use model::harness::Sim;

/// Reads the input front to back; zeros once it runs out, so every input
/// decodes to something.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0; N];
        let n = N.min(self.0.len());
        b[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        b
    }
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    // Values near the edges that matter, and sometimes anything: a plain
    // u64 would almost never land on a watch or a limit.
    fn gfn(&mut self) -> u64 {
        match self.u8() % 8 {
            0..=3 => self.u8().into(),
            4 => 0xff0 + u64::from(self.u8()),
            5 => 0xfff00 + u64::from(self.u8()),
            6 => u64::MAX - u64::from(self.u8()),
            _ => self.u64(),
        }
    }
    fn frames(&mut self) -> u64 {
        let max = u64::from(RSHADOW_MAX_WATCH_FRAMES);
        match self.u8() % 8 {
            0..=4 => 1 + u64::from(self.u8() % 8),
            5 => 0,
            6 => max - 1 + u64::from(self.u8() % 3),
            _ => self.u64(),
        }
    }
    fn small_or_any(&mut self, edge: u32) -> u32 {
        match self.u8() % 4 {
            0 | 1 => (self.u8() % 8).into(),
            2 => edge - 1 + u32::from(self.u8() % 3),
            _ => self.u32(),
        }
    }
    fn nr(&mut self) -> u32 {
        match self.u8() % 6 {
            0 | 1 => 16 << (self.u8() % 4),
            2 => (self.u8() % 40).into(),
            3 => RSHADOW_MAX_WATCHES - 1 + u32::from(self.u8() % 3),
            4 => RSHADOW_RING_MAX - 1 + u32::from(self.u8() % 3),
            _ => self.u32(),
        }
    }
    fn ctl(&mut self) -> rshadow_ctl {
        let sel = self.u8();
        let op = match sel % 11 {
            0..=8 => u32::from(sel % 11) + 1,
            9 => 0,
            _ => self.u32(),
        };
        // Bit 7: a malformed header (flags or pads set); bit 6: another
        // interface version.
        let (flags, pad, pad2) = if sel & 0x80 != 0 {
            (self.u32(), self.u32(), self.u32())
        } else {
            (0, 0, 0)
        };
        let version = if sel & 0x40 != 0 {
            self.u32()
        } else {
            RSHADOW_INTERFACE_VERSION
        };
        rshadow_ctl {
            op,
            vcpu: (self.u8() % 4).into(),
            first_gfn: self.gfn(),
            nr_frames: self.frames(),
            access: self.small_or_any(8),
            steps: self.small_or_any(RSHADOW_MAX_STEPS),
            nr: self.nr(),
            start: (self.u8() % 8).into(),
            buf: match self.u8() % 4 {
                0 | 1 => 0x1000,
                2 => 0,
                _ => self.u64(),
            },
            flags,
            pad,
            version,
            pad2,
            threshold: self.small_or_any(RSHADOW_RING_MAX),
            latency_us: self.small_or_any(RSHADOW_NOTIFY_MAX_US),
        }
    }
    fn ram(&mut self) -> Ram {
        let frames = match self.u8() % 4 {
            0 => 0x100000,
            1 => 0x1000,
            2 => self.u8().into(),
            _ => self.u64(),
        };
        let hole = match self.u8() % 3 {
            0 => u64::MAX,
            _ => self.gfn(),
        };
        Ram { frames, hole }
    }
}

/// An enabled domain with a full table (4096 watches of one or two frames,
/// every access mix, some with steps), built through the ABI and checked
/// against the model once, then copied for each run that starts from it:
/// building it takes thousands of calls.
fn full_table() -> Sim {
    let facts = rshadow_dom_facts {
        domid: 1,
        flags: RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP,
        hvm: RSHADOW_HVM_VMX,
        nr_vcpus: 2,
        max_gfn: 0xfffff,
        xen_handle: 0,
    };
    let mut sim = Sim::new(
        facts,
        Ram {
            frames: 0x100000,
            hole: u64::MAX,
        },
    );
    let enable = rshadow_ctl {
        op: RSHADOW_OP_ENABLE,
        nr: 16,
        ..REQUEST
    };
    assert_eq!(sim.control(&enable), 0);
    for i in 0..u64::from(RSHADOW_MAX_WATCHES) {
        let add = rshadow_ctl {
            op: RSHADOW_OP_ADD_WATCH,
            first_gfn: i * 3,
            nr_frames: 1 + i % 2,
            access: 1 + (i % 7) as u32,
            steps: (i % 3) as u32,
            ..REQUEST
        };
        assert_eq!(sim.control(&add), 0);
    }
    sim.check_all(&[]);
    sim
}

/// A domain as the input describes it: its facts and RAM map.
fn fresh(flags: u8, inp: &mut Input) -> Sim {
    let facts = rshadow_dom_facts {
        domid: 1,
        // Mostly an HVM shadow domain, so requests get past the first checks.
        flags: match flags % 8 {
            0 => (flags >> 3).into(),
            1 => RSHADOW_DOMF_HVM | RSHADOW_DOMF_HAP,
            2 | 3 => RSHADOW_DOMF_HVM,
            _ => RSHADOW_DOMF_HVM | RSHADOW_DOMF_STEP,
        },
        hvm: RSHADOW_HVM_VMX,
        nr_vcpus: 1 + u32::from(inp.u8() % 3),
        max_gfn: match inp.u8() % 4 {
            0 | 1 => 0xfffff,
            2 => inp.u32().into(),
            _ => inp.u64(),
        },
        xen_handle: 0,
    };
    let ram = inp.ram();
    Sim::new(facts, ram)
}

thread_local! {
    static FULL: Sim = full_table();
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let flags = inp.u8();
    // 0xff: start from a full table instead.
    let mut sim = if flags == 0xff {
        FULL.with(Sim::fork)
    } else {
        fresh(flags, &mut inp)
    };
    // Bounded: a long input must not make one run slow.
    for _ in 0..256 {
        if inp.is_empty() {
            break;
        }
        let mut probes = vec![];
        match inp.u8() % 16 {
            0..=6 => {
                let r = inp.ctl();
                probes.extend([r.first_gfn, r.first_gfn.wrapping_add(r.nr_frames)]);
                sim.control(&r);
            }
            7 | 8 => {
                // REMOVE_WATCH of an existing watch, its size maybe off by one.
                let list = sim.model.list();
                let idx = usize::from(inp.u8()) % list.len().max(1);
                let skew = [0u64, 0, 1, u64::MAX][usize::from(inp.u8() % 4)];
                let (first, frames) = list
                    .get(idx)
                    .map_or((0, 1), |w| (w.first_gfn, w.nr_frames.wrapping_add(skew)));
                sim.control(&rshadow_ctl {
                    op: RSHADOW_OP_REMOVE_WATCH,
                    first_gfn: first,
                    nr_frames: frames,
                    ..REQUEST
                });
            }
            9 => {
                let r = inp.ctl();
                sim.apply(&r);
            }
            10 => sim.disable_watch((inp.u8() % 8).into()),
            11 => sim.facts.max_gfn = inp.gfn(),
            12 => {
                let r = inp.ram();
                sim.change_ram(r);
            }
            13 => {
                let (vcpu, n) = (inp.u8() % 4, inp.u8() % 64);
                sim.record(vcpu.into(), n.into());
            }
            _ => probes.push(inp.gfn()),
        }
        sim.check_all(&probes);
    }
});
