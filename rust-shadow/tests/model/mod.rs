//! A reference model of the control interface and the watch table, written
//! from the documented semantics (the errno table at the top of
//! `src/control.rs`, the ABI header, `src/watch.rs`), not from the code.
//! Shared by `tests/properties.rs` and the fuzz target in `fuzz/`, which
//! include this file by path.
#![allow(
    dead_code,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::unreachable
)]

use rshadow::bindings::*;
use std::collections::BTreeMap;

pub mod harness;

pub const EINVAL: i32 = -22;
pub const ENOSYS: i32 = -38;
pub const ENODEV: i32 = -19;
pub const EOPNOTSUPP: i32 = -95;
pub const EEXIST: i32 = -17;
pub const E2BIG: i32 = -7;
pub const ENXIO: i32 = -6;
pub const ERANGE: i32 = -34;
pub const EADDRNOTAVAIL: i32 = -99;
pub const EFAULT: i32 = -14;
pub const EBUSY: i32 = -16;
pub const ENOSPC: i32 = -28;
pub const ENOENT: i32 = -2;
pub const EACCES: i32 = -13;

/// Every errno the module itself may answer a control request with (Xen
/// adds ESRCH, EPERM and EFAULT from copies; none of those come from here).
pub const DOCUMENTED: [i32; 14] = [
    EACCES,
    EINVAL,
    ENOSYS,
    ENODEV,
    EOPNOTSUPP,
    EEXIST,
    E2BIG,
    ENXIO,
    ERANGE,
    EADDRNOTAVAIL,
    EFAULT,
    EBUSY,
    ENOSPC,
    ENOENT,
];

const ACCESS_ALL: u32 = RSHADOW_ACCESS_R | RSHADOW_ACCESS_W | RSHADOW_ACCESS_X;

/// The fake Xen's RAM map: frames `[0, frames)` except `hole`.
#[derive(Clone, Copy, Debug)]
pub struct Ram {
    pub frames: u64,
    pub hole: u64,
}

impl Ram {
    /// Whether every frame of `first..=last` is RAM.
    pub fn all_ram(&self, first: u64, last: u64) -> bool {
        last < self.frames && !(first <= self.hole && self.hole <= last)
    }
}

/// One watch, keyed by its first frame in [`Model::watches`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MWatch {
    pub last: u64,
    pub access: u32,
    pub steps: u32,
    pub disabled: bool,
}

/// The revoke range an operation asks for: (first frame, frame count).
pub type Revoke = (u64, u64);

#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Between a successful ENABLE and DISABLE.
    pub enabled: bool,
    pub watches: BTreeMap<u64, MWatch>,
}

fn has(f: &rshadow_dom_facts, flag: u32) -> bool {
    f.flags & flag != 0
}

impl Model {
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The documented checks, in the documented order, that need no watch
    /// table and no RAM map.
    pub fn decode(f: &rshadow_dom_facts, enabled: bool, r: &rshadow_ctl) -> Result<(), i32> {
        if r.version != RSHADOW_INTERFACE_VERSION {
            return Err(EACCES);
        }
        if r.flags != 0 || r.pad != 0 || r.pad2 != 0 {
            return Err(EINVAL);
        }
        if !(RSHADOW_OP_ENABLE..=RSHADOW_OP_NOTIFY).contains(&r.op) {
            return Err(ENOSYS);
        }
        if !has(f, RSHADOW_DOMF_HVM) {
            return Err(ENODEV);
        }
        if has(f, RSHADOW_DOMF_HAP) {
            return Err(EOPNOTSUPP);
        }
        if r.op == RSHADOW_OP_ENABLE {
            if enabled {
                return Err(EEXIST);
            }
            if r.nr > RSHADOW_RING_MAX {
                return Err(E2BIG);
            }
            if !r.nr.is_power_of_two() || r.nr < RSHADOW_RING_MIN {
                return Err(EINVAL);
            }
            return Ok(());
        }
        if !enabled {
            return Err(ENXIO);
        }
        let ranged = matches!(r.op, RSHADOW_OP_ADD_WATCH | RSHADOW_OP_REMOVE_WATCH);
        let add = r.op == RSHADOW_OP_ADD_WATCH;
        let buffered = matches!(r.op, RSHADOW_OP_LIST_WATCHES | RSHADOW_OP_READ_TRACE);
        let cap_max = if r.op == RSHADOW_OP_LIST_WATCHES {
            RSHADOW_MAX_WATCHES
        } else {
            RSHADOW_RING_MAX
        };
        if ranged && r.nr_frames == 0 {
            return Err(EINVAL);
        }
        if ranged && r.nr_frames > u64::from(RSHADOW_MAX_WATCH_FRAMES) {
            return Err(E2BIG);
        }
        if add && (r.access == 0 || r.access & !ACCESS_ALL != 0) {
            return Err(EINVAL);
        }
        if add && r.steps > RSHADOW_MAX_STEPS {
            return Err(E2BIG);
        }
        if add && r.steps > 0 && !has(f, RSHADOW_DOMF_STEP) {
            return Err(EOPNOTSUPP);
        }
        if add {
            match r.first_gfn.checked_add(r.nr_frames - 1) {
                Some(last) if last <= f.max_gfn => {}
                _ => return Err(ERANGE),
            }
        }
        if r.op == RSHADOW_OP_READ_TRACE && r.vcpu >= f.nr_vcpus {
            return Err(EINVAL);
        }
        if buffered && r.nr > cap_max {
            return Err(E2BIG);
        }
        if buffered && (!r.buf.is_multiple_of(8) || (r.buf == 0 && r.nr != 0)) {
            return Err(EFAULT);
        }
        if r.op == RSHADOW_OP_NOTIFY {
            if r.threshold > RSHADOW_RING_MAX || r.latency_us > RSHADOW_NOTIFY_MAX_US {
                return Err(E2BIG);
            }
            if r.latency_us != 0 && r.latency_us < RSHADOW_NOTIFY_MIN_US {
                return Err(EINVAL);
            }
        }
        Ok(())
    }

    /// What `rshadow_ctl_check` answers, with the live facts and RAM map.
    pub fn check(&self, f: &rshadow_dom_facts, ram: &Ram, r: &rshadow_ctl) -> i32 {
        if let Err(e) = Self::decode(f, self.enabled(), r) {
            return e;
        }
        if r.op == RSHADOW_OP_ADD_WATCH && !ram.all_ram(r.first_gfn, r.first_gfn + r.nr_frames - 1)
        {
            return EADDRNOTAVAIL;
        }
        0
    }

    /// ENABLE, after a successful check: Xen sets up fresh blocks.
    pub fn enable(&mut self) {
        self.enabled = true;
        self.watches.clear();
    }

    /// What `rshadow_ctl_apply` answers and does, judged by the live facts
    /// `f` (those the check was given: a domain whose memory grew since
    /// ENABLE can be watched in its new frames).  Only ADD_WATCH,
    /// REMOVE_WATCH, RESET and DISABLE change anything; every other request
    /// is refused (EINVAL once it decodes).
    pub fn apply(&mut self, f: &rshadow_dom_facts, r: &rshadow_ctl) -> (i32, Revoke) {
        if !self.enabled {
            // Not callable without a domain block: the C entry refuses.
            return (EINVAL, (0, 0));
        }
        if let Err(e) = Self::decode(f, true, r) {
            return (e, (0, 0));
        }
        match r.op {
            RSHADOW_OP_ADD_WATCH => {
                let (first, last) = (r.first_gfn, r.first_gfn + r.nr_frames - 1);
                let overlap = self
                    .watches
                    .range(..=last)
                    .next_back()
                    .is_some_and(|(_, w)| w.last >= first);
                if overlap {
                    return (EBUSY, (0, 0));
                }
                if self.watches.len() >= RSHADOW_MAX_WATCHES as usize {
                    return (ENOSPC, (0, 0));
                }
                self.watches.insert(
                    first,
                    MWatch {
                        last,
                        access: r.access,
                        steps: r.steps,
                        disabled: false,
                    },
                );
                (0, (first, r.nr_frames))
            }
            RSHADOW_OP_REMOVE_WATCH => match self.watches.get(&r.first_gfn) {
                Some(w) if w.last - r.first_gfn + 1 == r.nr_frames => {
                    self.watches.remove(&r.first_gfn);
                    (0, (r.first_gfn, r.nr_frames))
                }
                _ => (ENOENT, (0, 0)),
            },
            RSHADOW_OP_RESET | RSHADOW_OP_DISABLE => {
                let any = !self.watches.is_empty();
                self.watches.clear();
                (0, (0, if any { u64::MAX } else { 0 }))
            }
            _ => (EINVAL, (0, 0)),
        }
    }

    /// DISABLE after a successful apply: Xen frees the blocks.
    pub fn disable(&mut self) {
        self.enabled = false;
        self.watches.clear();
    }

    /// `rshadow_watch_disable`: the watch at `idx` stops trapping.
    pub fn disable_watch(&mut self, idx: u32) -> Revoke {
        match self.watches.iter_mut().nth(idx as usize) {
            Some((&first, w)) => {
                w.disabled = true;
                (first, w.last - first + 1)
            }
            None => (0, 0),
        }
    }

    /// The first frame of the watch at `idx`.
    pub fn nth_first(&self, idx: u32) -> Option<u64> {
        self.watches.keys().nth(idx as usize).copied()
    }

    /// The watch holding `gfn`, with its first frame.
    pub fn lookup(&self, gfn: u64) -> Option<(u64, MWatch)> {
        let (&first, &w) = self.watches.range(..=gfn).next_back()?;
        (gfn <= w.last).then_some((first, w))
    }

    /// Whether an active watch traps instruction fetches.
    pub fn traps_fetches(&self) -> bool {
        self.watches
            .values()
            .any(|w| !w.disabled && w.access & RSHADOW_ACCESS_X != 0)
    }

    /// The access kinds that trap at `gfn` (none where a watch is disabled).
    pub fn active_access(&self, gfn: u64) -> u32 {
        match self.lookup(gfn) {
            Some((_, w)) if !w.disabled => w.access,
            _ => 0,
        }
    }

    /// The shadow L1 flags `rshadow_l1_flags` must give `gfn`: not present
    /// for reads and fetches, read-only for writes alone.
    pub fn l1_flags(&self, gfn: u64, flags: u32) -> u32 {
        let a = self.active_access(gfn);
        if a & (RSHADOW_ACCESS_R | RSHADOW_ACCESS_X) != 0 {
            flags & !RSHADOW_PTE_PRESENT
        } else if a & RSHADOW_ACCESS_W != 0 {
            flags & !RSHADOW_PTE_RW
        } else {
            flags
        }
    }

    /// One watch as `rshadow_watch_list` reports it.
    pub fn info(first: u64, w: &MWatch) -> rshadow_watch_info {
        rshadow_watch_info {
            first_gfn: first,
            nr_frames: w.last - first + 1,
            access: w.access,
            steps: w.steps,
            flags: if w.disabled {
                RSHADOW_WATCHF_DISABLED
            } else {
                0
            },
            pad: 0,
        }
    }

    /// The watch list as `rshadow_watch_list` reports it.
    pub fn list(&self) -> Vec<rshadow_watch_info> {
        self.watches
            .iter()
            .map(|(&f, w)| Self::info(f, w))
            .collect()
    }

    /// Frames worth probing: the edges of watches (of at most 32 of them,
    /// spread over the table) and their neighbours.
    pub fn probes(&self) -> Vec<u64> {
        let mut p = vec![0, u64::MAX];
        let every = self.watches.len() / 32 + 1;
        for (&first, w) in self.watches.iter().step_by(every) {
            for g in [first, w.last] {
                p.extend([g.wrapping_sub(1), g, g.wrapping_add(1)]);
            }
            p.push(first + (w.last - first) / 2);
        }
        p
    }
}
