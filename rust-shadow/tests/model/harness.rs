//! A fake of Xen's control glue (rshadow_control and its helpers, from the
//! patch "x86/rshadow: implement XEN_DOMCTL_rshadow_op") over the module's
//! C ABI, checked step by step against [`Model`].  Every method panics on a
//! disagreement, which proptest shrinks and libFuzzer reports as a crash.

use super::*;
use rshadow::control::*;
use rshadow::fault::*;
use rshadow::state::{DomainState, VcpuState};
use rshadow::trace::*;
use rshadow::watch::WatchSet;
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::RefCell;
use std::collections::VecDeque;

unsafe extern "C" {
    fn fake_xen_set_ram(frames: u64, hole: u64);
}

/// A zeroed block with the header's alignment, as Xen allocates them.
struct Block(*mut u8, Layout);

impl Block {
    fn new(size: u32) -> Self {
        let l = Layout::from_size_align(size as usize, RSHADOW_STATE_ALIGN as usize).unwrap();
        // SAFETY: non-zero size.
        let p = unsafe { alloc_zeroed(l) };
        assert!(!p.is_null());
        Block(p, l)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in new() with this layout.
        unsafe { dealloc(self.0, self.1) }
    }
}

/// What a reader of one vCPU's trace must see.
#[derive(Default)]
struct RingModel {
    cap: usize,
    /// Sequence numbers waiting, oldest first.
    waiting: VecDeque<u64>,
    next_seq: u64,
    dropped: u64,
    kept_stat: u64,
    dropped_stat: u64,
}

struct Vcpu {
    block: Block,
    // Owned here so the ring outlives the block that points into it.
    _ring: Vec<rshadow_record>,
    model: RingModel,
}

/// The state blocks of an enabled domain.
struct Glue {
    dom: Block,
    vcpus: Vec<Vcpu>,
}

/// Everything a caller can see change; compared around refused requests.
#[derive(Debug, PartialEq)]
struct Snapshot {
    enabled: bool,
    /// The watch list's length and a hash of it: cheap for a full table.
    list: (usize, u64),
    stats: rshadow_stats,
    trace_len: Vec<u32>,
}

/// A domain driven through the C ABI the way Xen's glue drives it.
pub struct Sim {
    pub facts: rshadow_dom_facts,
    pub ram: Ram,
    pub model: Model,
    glue: Option<Glue>,
    /// Reused for listing: a full table's list is 128 KiB.
    scratch: RefCell<Vec<rshadow_watch_info>>,
}

impl Sim {
    pub fn new(facts: rshadow_dom_facts, ram: Ram) -> Self {
        let s = Sim {
            facts,
            ram,
            model: Model::default(),
            glue: None,
            scratch: RefCell::default(),
        };
        s.set_ram(ram);
        s
    }

    /// Changes the fake Xen's RAM map (ballooning, a new hole).
    pub fn set_ram(&self, ram: Ram) {
        // SAFETY: a plain setter in the fake; callers serialise (see the
        // tests' mutex; the fuzzer is single-threaded).
        unsafe { fake_xen_set_ram(ram.frames, ram.hole) };
    }

    pub fn change_ram(&mut self, ram: Ram) {
        self.ram = ram;
        self.set_ram(ram);
    }

    /// A copy of this domain: the domain block byte for byte (it holds no
    /// pointers), fresh vCPU blocks with empty rings of the same size.  A
    /// full table takes thousands of calls to build; the fuzzer builds one
    /// once and starts runs from copies.
    pub fn fork(&self) -> Sim {
        let mut s = Sim::new(self.facts, self.ram);
        if let Some(g) = &self.glue {
            let records = g
                .vcpus
                .first()
                .map_or(RSHADOW_RING_MIN, |v| v.model.cap as u32);
            s.enable(records);
            s.model = self.model.clone();
            let size = RSHADOW_DOMAIN_STATE_SIZE as usize;
            let to = s.dom_ptr().cast::<u8>();
            // SAFETY: two distinct live blocks of `size` bytes.
            unsafe { std::ptr::copy_nonoverlapping(g.dom.0, to, size) };
        }
        s
    }

    fn dom_ptr(&self) -> *mut rshadow_domain {
        self.glue
            .as_ref()
            .map_or(std::ptr::null_mut(), |g| g.dom.0.cast())
    }

    fn snapshot(&self) -> Snapshot {
        let mut stats = rshadow_stats::default();
        let mut trace_len = vec![];
        if let Some(g) = &self.glue {
            for v in &g.vcpus {
                // SAFETY: initialised blocks.
                unsafe {
                    rshadow_vcpu_stats(v.block.0.cast(), &mut stats);
                    trace_len.push(rshadow_trace_len(v.block.0.cast()));
                }
            }
        }
        // SAFETY: null or an initialised block; single-threaded.
        unsafe { rshadow_domain_stats(self.dom_ptr(), &mut stats) };
        Snapshot {
            enabled: self.glue.is_some(),
            list: self.with_list(|l| {
                let hash = l.iter().fold(0u64, |h, w| {
                    let v = [w.first_gfn, w.nr_frames, w.access.into(), w.steps.into()];
                    v.iter()
                        .fold(h, |h, &x| (h ^ x).wrapping_mul(0x100000001b3))
                        ^ u64::from(w.flags)
                });
                (l.len(), hash)
            }),
            stats,
            trace_len,
        }
    }

    /// Calls `f` with every watch as `rshadow_watch_list` reports it.
    fn with_list<R>(&self, f: impl FnOnce(&[rshadow_watch_info]) -> R) -> R {
        let mut out = self.scratch.borrow_mut();
        // SAFETY: null or an initialised block.
        let count = unsafe { rshadow_watch_count(self.dom_ptr()) };
        out.resize(count as usize, rshadow_watch_info::default());
        // SAFETY: out holds count entries; dom null or initialised.
        let n = unsafe { rshadow_watch_list(self.dom_ptr(), 0, out.as_mut_ptr(), count) };
        assert_eq!(n, count);
        f(&out)
    }

    fn list(&self, start: u32, max: u32) -> Vec<rshadow_watch_info> {
        // SAFETY: null or an initialised block.
        let count = unsafe { rshadow_watch_count(self.dom_ptr()) };
        // No bigger than needed: debug builds fill a buffer slowly.
        let max = max.min(count.saturating_sub(start));
        let mut out = vec![rshadow_watch_info::default(); max as usize];
        // SAFETY: out holds max entries; dom null or initialised.
        let n = unsafe { rshadow_watch_list(self.dom_ptr(), start, out.as_mut_ptr(), max) };
        assert!(n <= max);
        out.truncate(n as usize);
        out
    }

    /// One request the way `rshadow_control` handles it: check with the
    /// live facts, then act.  Returns the errno it ends with.
    pub fn control(&mut self, req: &rshadow_ctl) -> i32 {
        let want = self.model.check(&self.facts, &self.ram, req);
        // Only refusals need the (O(watches)) snapshot.
        let before = (want != 0).then(|| self.snapshot());
        // SAFETY: dom null or initialised; facts and req readable.
        let rc = unsafe { rshadow_ctl_check(self.dom_ptr(), &self.facts, req) };
        assert!(rc == 0 || DOCUMENTED.contains(&rc), "undocumented {rc}");
        assert_eq!(rc, want, "check of {req:?}");
        if let Some(before) = before {
            assert_eq!(self.snapshot(), before, "refused {req:?} changed state");
            return rc;
        }
        match req.op {
            RSHADOW_OP_ENABLE => {
                self.enable(req.nr);
                0
            }
            RSHADOW_OP_DISABLE | RSHADOW_OP_ADD_WATCH | RSHADOW_OP_REMOVE_WATCH => {
                let rc = self.apply(req);
                if rc == 0 && req.op == RSHADOW_OP_DISABLE {
                    self.glue = None;
                    self.model.disable();
                }
                rc
            }
            RSHADOW_OP_RESET => {
                let rc = self.apply(req);
                assert_eq!(rc, 0, "RESET cannot fail once checked");
                for v in self.glue.as_mut().map_or(&mut [][..], |g| &mut g.vcpus[..]) {
                    // SAFETY: initialised block.
                    unsafe { rshadow_trace_clear(v.block.0.cast()) };
                    let m = &mut v.model;
                    m.waiting.clear();
                    (m.dropped, m.kept_stat, m.dropped_stat) = (0, 0, 0);
                }
                0
            }
            RSHADOW_OP_LIST_WATCHES => {
                let want: Vec<_> = self
                    .model
                    .list()
                    .into_iter()
                    .skip(req.start as usize)
                    .take(req.nr as usize)
                    .collect();
                assert_eq!(self.list(req.start, req.nr), want);
                0
            }
            RSHADOW_OP_READ_TRACE => {
                self.read_trace(req.vcpu, req.nr);
                0
            }
            RSHADOW_OP_GET_STATS => {
                self.check_stats();
                0
            }
            // Xen's alone: an event channel and a timer, no module state.
            RSHADOW_OP_NOTIFY => 0,
            op => panic!("check accepted unknown op {op}"),
        }
    }

    fn enable(&mut self, records: u32) {
        let dom = Block::new(RSHADOW_DOMAIN_STATE_SIZE);
        let mut vcpus = vec![];
        for i in 0..self.facts.nr_vcpus {
            let block = Block::new(RSHADOW_VCPU_STATE_SIZE);
            let mut ring = vec![rshadow_record::default(); records as usize];
            // SAFETY: zeroed block; the ring lives as long as the block.
            unsafe { rshadow_vcpu_init(block.0.cast(), i, ring.as_mut_ptr(), records) };
            vcpus.push(Vcpu {
                block,
                _ring: ring,
                model: RingModel {
                    cap: records as usize,
                    ..Default::default()
                },
            });
        }
        // SAFETY: a zeroed, unshared block.
        unsafe { rshadow_domain_init(dom.0.cast(), &self.facts) };
        self.glue = Some(Glue { dom, vcpus });
        self.model.enable();
    }

    /// `rshadow_ctl_apply` alone, as `shadow_rshadow_apply` calls it; also
    /// used directly, without a check first, to test its own refusals.
    pub fn apply(&mut self, req: &rshadow_ctl) -> i32 {
        if self.glue.is_none() {
            // Outside the contract (no block), but it must still refuse.
            let mut rev = rshadow_revoke::default();
            // SAFETY: a null block is refused before anything is read.
            let rc = unsafe { rshadow_ctl_apply(std::ptr::null_mut(), &self.facts, req, &mut rev) };
            assert_eq!(rc, EINVAL);
            return rc;
        }
        // The model changes only on success, so a refusal leaves it as the
        // snapshot below must find the module.
        let (want, want_rev) = self.model.apply(&self.facts, req);
        let before = (want != 0).then(|| self.snapshot());
        // Garbage in *revoke before the call: it must be overwritten.
        let mut rev = rshadow_revoke {
            first_gfn: 0xdead,
            nr_frames: 0xbeef,
        };
        // SAFETY: an initialised block; req readable, rev writable.
        let rc = unsafe { rshadow_ctl_apply(self.dom_ptr(), &self.facts, req, &mut rev) };
        assert!(rc == 0 || DOCUMENTED.contains(&rc), "undocumented {rc}");
        assert_eq!(rc, want, "apply of {req:?}");
        assert_eq!(
            (rev.first_gfn, rev.nr_frames),
            want_rev,
            "revoke of {req:?}"
        );
        if let Some(before) = before {
            assert_eq!(self.snapshot(), before, "refused {req:?} changed state");
        }
        rc
    }

    /// `rshadow_watch_disable`, as the fault path calls it: on the watch
    /// whose id a fault on its first frame found.
    pub fn disable_watch(&mut self, idx: u32) {
        if self.glue.is_none() {
            return;
        }
        let Some(gfn) = self.model.nth_first(idx) else {
            return;
        };
        let mut f = rshadow_fault::default();
        // SAFETY: an initialised block; f writable.
        let hidden =
            unsafe { rshadow_fault_check(self.dom_ptr(), gfn, 0, RSHADOW_PFEC_WRITE, &mut f) } != 0;
        let mut rev = rshadow_revoke {
            first_gfn: 0xdead,
            nr_frames: 0xbeef,
        };
        let id = if hidden { f.watch_id } else { 0 };
        // SAFETY: an initialised block; rev writable.
        unsafe { rshadow_watch_disable(self.dom_ptr(), gfn, id, &mut rev) };
        // A disabled watch hides nothing, so no fault comes back to it.
        let want = if hidden {
            self.model.disable_watch(idx)
        } else {
            (0, 0)
        };
        assert_eq!((rev.first_gfn, rev.nr_frames), want, "disable {idx}");
    }

    /// Records `n` accesses on a vCPU, as the fault path does.
    pub fn record(&mut self, vcpu: usize, n: u32) {
        let Some(g) = self.glue.as_mut() else { return };
        let Some(v) = g.vcpus.get_mut(vcpu) else {
            return;
        };
        // SAFETY: an initialised block.
        let s = unsafe { VcpuState::from_ptr(v.block.0.cast()) }.unwrap();
        for _ in 0..n {
            let m = &mut v.model;
            s.record(rshadow_record {
                value: m.next_seq,
                ..Default::default()
            });
            if m.waiting.len() < m.cap {
                m.waiting.push_back(m.next_seq);
                m.kept_stat += 1;
            } else {
                m.dropped += 1;
                m.dropped_stat += 1;
            }
            m.next_seq += 1;
        }
    }

    /// READ_TRACE as `read_trace` does it: peek in chunks, then consume
    /// what was copied, then take the drop count.
    fn read_trace(&mut self, vcpu: u32, want: u32) {
        const CHUNK: u32 = 16;
        let v = &mut self.glue.as_mut().unwrap().vcpus[vcpu as usize];
        let p: *const rshadow_vcpu = v.block.0.cast();
        let mut got = vec![];
        let mut chunk = [rshadow_record::default(); CHUNK as usize];
        loop {
            let max = (want - got.len() as u32).min(CHUNK);
            // SAFETY: initialised block; chunk holds max records.
            let n = unsafe { rshadow_trace_peek(p, got.len() as u32, chunk.as_mut_ptr(), max) };
            assert!(n <= max);
            got.extend_from_slice(&chunk[..n as usize]);
            if n != CHUNK || got.len() as u32 >= want {
                break;
            }
        }
        // SAFETY: as above.
        unsafe { rshadow_trace_consume(p, got.len() as u32) };
        // SAFETY: as above.
        let lost = unsafe { rshadow_trace_dropped(p) };
        let m = &mut v.model;
        let expect: Vec<u64> = m.waiting.drain(..got.len()).collect();
        let seqs: Vec<u64> = got.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, expect, "records read");
        assert!(
            got.iter()
                .all(|r| r.value == r.seq && r.vcpu as usize == vcpu as usize)
        );
        assert_eq!(got.len(), (want as usize).min(got.len() + m.waiting.len()));
        assert_eq!(lost, m.dropped, "lost count");
        m.dropped = 0;
    }

    fn check_stats(&self) {
        let s = self.snapshot().stats;
        let list = self.model.list();
        assert_eq!(s.watches, list.len() as u64);
        let frames: u64 = list.iter().map(|w| w.nr_frames).sum();
        assert_eq!(s.watched_frames, frames);
        let vcpus = self.glue.as_ref().map_or(&[][..], |g| &g.vcpus[..]);
        assert_eq!(
            s.records,
            vcpus.iter().map(|v| v.model.kept_stat).sum::<u64>()
        );
        assert_eq!(
            s.dropped,
            vcpus.iter().map(|v| v.model.dropped_stat).sum::<u64>()
        );
    }

    /// Everything that must hold between operations: the table's own
    /// invariants, and agreement with the model on the list, on lookups,
    /// on the shadow flags and on the fetch flag of a watched fault.
    pub fn check_all(&self, extra_probes: &[u64]) {
        let p = self.dom_ptr();
        // SAFETY: null or initialised; nothing else holds the set.
        let Some(d) = (unsafe { DomainState::from_ptr(p) }) else {
            assert!(!self.model.enabled());
            return;
        };
        assert!(self.model.enabled());
        // SAFETY: as above.
        let ws = unsafe { d.watches() };
        assert!(ws.check_invariants(), "watch table invariants");
        assert_eq!(ws.len(), self.model.watches.len());
        // SAFETY: as above.
        assert_eq!(unsafe { rshadow_watch_count(p) } as usize, ws.len());
        self.with_list(|list| self.check_list(ws, list, extra_probes));
    }

    fn check_list(&self, ws: &WatchSet, list: &[rshadow_watch_info], extra_probes: &[u64]) {
        let p = self.dom_ptr();
        // Entry by entry: building the model's list would cost more than
        // everything else here for a full table.
        assert_eq!(list.len(), self.model.watches.len());
        for (got, (&first, w)) in list.iter().zip(&self.model.watches) {
            assert_eq!(*got, Model::info(first, w), "listed watch");
        }
        let probes = self.model.probes();
        let traps_fetches = self.model.traps_fetches();
        assert_eq!(ws.traps_fetches(), traps_fetches);
        for &gfn in probes.iter().chain(extra_probes) {
            let got = ws.lookup(gfn).map(|(i, w)| (i, w.first, w.last));
            let want = self.model.lookup(gfn).map(|(f, w)| {
                // The index is the watch's rank in the sorted list.
                let i = list.partition_point(|x| x.first_gfn < f);
                (i, f, w.last)
            });
            assert_eq!(got, want, "lookup {gfn:#x}");
            let flags = RSHADOW_PTE_PRESENT | RSHADOW_PTE_RW | 0x60;
            // SAFETY: as above.
            let l1 = unsafe { rshadow_l1_flags(p, gfn, flags) };
            assert_eq!(l1, self.model.l1_flags(gfn, flags), "l1 flags {gfn:#x}");
            let mut f = rshadow_fault::default();
            // SAFETY: as above; f writable.
            let hit = unsafe { rshadow_fault_check(p, gfn, 0, RSHADOW_PFEC_WRITE, &mut f) };
            let active = self.model.active_access(gfn);
            assert_eq!(hit != 0, active != 0, "fault check {gfn:#x}");
            if hit != 0 {
                let fetches = f.flags & RSHADOW_FAULTF_FETCHES as u8 != 0;
                assert_eq!(fetches, traps_fetches);
                assert_eq!(f.access, active);
            }
        }
    }
}
