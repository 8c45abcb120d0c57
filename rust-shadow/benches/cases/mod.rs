//! The hot paths both host benchmarks measure, set up as Xen uses them: the
//! watch lookup every shadow fault and propagation makes while a domain has
//! watches, the MTF step handler, and the append of a trace record.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

use rshadow::bindings::*;
use rshadow::ring::Ring;
use rshadow::state::VcpuState;
use rshadow::step::{rshadow_step_begin, rshadow_step_exit};
use rshadow::trace::rshadow_vcpu_init;
use rshadow::watch::{Access, Watch, WatchSet};
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::hint::black_box;

/// Guest frames the watches are spread over: a 4 GiB guest.
pub const GUEST_FRAMES: u64 = 1 << 20;
/// Table sizes measured.
pub const SIZES: [usize; 3] = [1, 64, 4096];
const MISSES: usize = 1024;

/// A watch table of `n` single-frame ranges spread evenly over the guest,
/// with frames to look up.
pub struct Lookup {
    set: Box<WatchSet>,
    hit: u64,
    misses: Vec<u64>,
    worst_miss: u64,
    next: usize,
}

impl Lookup {
    pub fn new(n: usize) -> Self {
        let mut set = Box::new(WatchSet::new());
        set.size_filter(GUEST_FRAMES - 1);
        let spacing = GUEST_FRAMES / n as u64;
        for i in 0..n as u64 {
            let first = i * spacing + spacing / 2;
            set.add(Watch {
                first,
                last: first,
                access: Access::WRITE,
                steps: 0,
                disabled: false,
                gone: false,
                id: 0,
            })
            .unwrap();
        }
        let watched = |g: u64| set.lookup(g).is_some();
        // Unwatched frames, scattered (a fixed LCG, so runs compare).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut misses = Vec::with_capacity(MISSES);
        while misses.len() < MISSES {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let g = (x >> 24) % GUEST_FRAMES;
            if !watched(g) {
                misses.push(g);
            }
        }
        // The frame next to a watched one: in a guest over 4 GiB it would
        // share its filter granule and go on to the search.
        let hit = (n as u64 / 2) * spacing + spacing / 2;
        Lookup {
            set,
            hit,
            misses,
            worst_miss: hit + 1,
            next: 0,
        }
    }

    /// One lookup of a watched frame.
    #[inline(always)]
    pub fn hit(&mut self) -> bool {
        self.set.lookup(black_box(self.hit)).is_some()
    }

    /// One lookup of an unwatched frame, the next of the scattered ones.
    #[inline(always)]
    pub fn miss(&mut self) -> bool {
        self.next = (self.next + 1) % MISSES;
        self.set.lookup(black_box(self.misses[self.next])).is_some()
    }

    /// One lookup of the unwatched frame next to a watched one.
    #[inline(always)]
    pub fn worst_miss(&mut self) -> bool {
        self.set.lookup(black_box(self.worst_miss)).is_some()
    }
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

const RING: u32 = 1 << 16;

/// A vCPU stepping with MTF, as Xen's MTF exit handler drives it.
pub struct Stepper {
    block: Block,
    _ring: Vec<rshadow_record>,
    rip: u64,
}

impl Stepper {
    pub fn new() -> Self {
        let block = Block::new(RSHADOW_VCPU_STATE_SIZE);
        let mut ring = vec![rshadow_record::default(); RING as usize];
        unsafe { rshadow_vcpu_init(block.0.cast(), 0, ring.as_mut_ptr(), RING) };
        let s = Stepper {
            block,
            _ring: ring,
            rip: 0x1000,
        };
        s.begin();
        s
    }

    fn vcpu(&self) -> *const rshadow_vcpu {
        self.block.0.cast()
    }

    fn begin(&self) {
        let open = unsafe {
            rshadow_step_begin(
                self.vcpu(),
                RSHADOW_MAX_STEPS,
                self.rip,
                0x2,
                RSHADOW_STEP_MTF,
            )
        };
        assert_eq!(open, 1);
    }

    /// One MTF exit: the step recorded into the ring.  The window is
    /// reopened when it closes, and the ring emptied when half full, as a
    /// consumer would; both are rare enough not to count.
    #[inline(always)]
    pub fn step(&mut self) {
        self.rip += 3;
        let open = unsafe { rshadow_step_exit(self.vcpu(), black_box(self.rip), 0x2, 0) };
        if open == 0 {
            self.begin();
        }
        let ring = unsafe { VcpuState::from_ptr(self.vcpu()) }.unwrap().ring();
        if ring.len() >= RING / 2 {
            ring.clear();
        }
    }
}

/// A trace ring, appended to.
pub struct Appender {
    ring: Ring,
    _slots: Vec<rshadow_record>,
    rec: rshadow_record,
}

impl Appender {
    pub fn new() -> Self {
        let mut slots = vec![rshadow_record::default(); RING as usize];
        let ring = unsafe { Ring::new(slots.as_mut_ptr(), RING) };
        Appender {
            ring,
            _slots: slots,
            rec: rshadow_record {
                kind: RSHADOW_REC_WRITE as u8,
                rip: 0x1000,
                linear: 0x2000,
                gfn: 0x2,
                value: 1,
                size: 4,
                ..Default::default()
            },
        }
    }

    /// One record appended; the ring emptied when half full.
    #[inline(always)]
    pub fn append(&mut self) {
        assert!(self.ring.push(black_box(self.rec)));
        if self.ring.len() >= RING / 2 {
            self.ring.clear();
        }
    }
}
