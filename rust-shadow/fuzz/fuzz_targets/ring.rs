//! The trace ring: any sequence of push, peek_at, consume, take_dropped and
//! clear against a model (a bounded queue of sequence numbers and a drop
//! counter).  The ring is driven either directly or, as Xen drives it,
//! through a vCPU block (`VcpuState::record` and the `rshadow_trace_*` C
//! entry points, whose statistics are checked too).  Records come out in
//! order, exactly once, with every gap in the sequence a counted drop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rshadow::bindings::*;
use rshadow::ring::Ring;
use rshadow::state::VcpuState;
use rshadow::trace::*;
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::VecDeque;

/// The ring under test, in one of its two guises.
enum Under {
    Direct(Ring),
    Vcpu(*mut u8, Layout),
}

impl Under {
    fn vcpu(&self) -> *const rshadow_vcpu {
        match self {
            Under::Vcpu(p, _) => p.cast_const().cast(),
            Under::Direct(_) => std::ptr::null(),
        }
    }
    fn ring(&self) -> &Ring {
        match self {
            Under::Direct(r) => r,
            // SAFETY: initialised in main below, alive until drop.
            Under::Vcpu(..) => unsafe { VcpuState::from_ptr(self.vcpu()) }.unwrap().ring(),
        }
    }
    fn push(&self, rec: rshadow_record) -> Option<bool> {
        match self {
            Under::Direct(r) => Some(r.push(rec)),
            Under::Vcpu(..) => {
                // SAFETY: as above.
                unsafe { VcpuState::from_ptr(self.vcpu()) }
                    .unwrap()
                    .record(rec);
                None
            }
        }
    }
    fn peek(&self, skip: u32, out: &mut [rshadow_record]) -> u32 {
        match self {
            Under::Direct(r) => r.peek_at(skip, out),
            // SAFETY: as above; out holds out.len() records.
            Under::Vcpu(..) => unsafe {
                rshadow_trace_peek(self.vcpu(), skip, out.as_mut_ptr(), out.len() as u32)
            },
        }
    }
    fn consume(&self, n: u32) {
        match self {
            Under::Direct(r) => r.consume(n),
            // SAFETY: as above.
            Under::Vcpu(..) => unsafe { rshadow_trace_consume(self.vcpu(), n) },
        }
    }
    fn take_dropped(&self) -> u64 {
        match self {
            Under::Direct(r) => r.take_dropped(),
            // SAFETY: as above.
            Under::Vcpu(..) => unsafe { rshadow_trace_dropped(self.vcpu()) },
        }
    }
    fn clear(&self) {
        match self {
            Under::Direct(r) => r.clear(),
            // SAFETY: as above.
            Under::Vcpu(..) => unsafe { rshadow_trace_clear(self.vcpu()) },
        }
    }
    fn len(&self) -> u32 {
        match self {
            Under::Direct(r) => r.len(),
            // SAFETY: as above.
            Under::Vcpu(..) => unsafe { rshadow_trace_len(self.vcpu()) },
        }
    }
}

impl Drop for Under {
    fn drop(&mut self) {
        if let Under::Vcpu(p, l) = self {
            // SAFETY: allocated in main with this layout.
            unsafe { dealloc(*p, *l) }
        }
    }
}

/// What the ring must hold and report.
#[derive(Default)]
struct Model {
    cap: usize,
    waiting: VecDeque<u64>,
    next_seq: u64,
    /// Drops since take_dropped or clear.
    dropped: u64,
    /// Kept and dropped since clear (the vCPU's statistics).
    kept_stat: u64,
    dropped_stat: u64,
    /// Every record ever pushed is accounted for exactly once in these.
    read: u64,
    cleared: u64,
    dropped_total: u64,
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// A count: mostly small, sometimes near the ring size, sometimes any.
    fn count(&mut self, cap: usize) -> u32 {
        match self.u8() % 4 {
            0 | 1 => (self.u8() % 24).into(),
            2 => (cap as u32)
                .wrapping_add(u32::from(self.u8() % 5))
                .wrapping_sub(2),
            _ => self.u32(),
        }
    }
}

const SIZES: [u32; 7] = [16, 32, 64, 128, 256, 1024, RSHADOW_RING_MAX];

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let head = inp.u8();
    let size = SIZES[usize::from(head % 7)];
    let mut mem = vec![rshadow_record::default(); size as usize];
    let under = if head & 0x80 == 0 {
        // SAFETY: mem outlives the ring (dropped after it, below).
        Under::Direct(unsafe { Ring::new(mem.as_mut_ptr(), size) })
    } else {
        let l = Layout::from_size_align(
            RSHADOW_VCPU_STATE_SIZE as usize,
            RSHADOW_STATE_ALIGN as usize,
        )
        .unwrap();
        // SAFETY: non-zero size.
        let p = unsafe { alloc_zeroed(l) };
        assert!(!p.is_null());
        // SAFETY: a zeroed block; mem outlives it.
        unsafe { rshadow_vcpu_init(p.cast(), 5, mem.as_mut_ptr(), size) };
        Under::Vcpu(p, l)
    };
    let via_vcpu = matches!(under, Under::Vcpu(..));
    assert_eq!(under.ring().capacity(), size);
    let mut m = Model {
        cap: size as usize,
        ..Default::default()
    };
    let mut out: Vec<rshadow_record> = Vec::new();

    for _ in 0..512 {
        if inp.0.is_empty() {
            break;
        }
        match inp.u8() % 8 {
            0..=2 => {
                let n = inp.count(m.cap).min(2 * size + 8);
                for _ in 0..n {
                    let rec = rshadow_record {
                        value: m.next_seq ^ 0x5a5a,
                        ..Default::default()
                    };
                    let kept = m.waiting.len() < m.cap;
                    if let Some(k) = under.push(rec) {
                        assert_eq!(k, kept, "push result");
                    }
                    if kept {
                        m.waiting.push_back(m.next_seq);
                        m.kept_stat += 1;
                    } else {
                        m.dropped += 1;
                        m.dropped_stat += 1;
                        m.dropped_total += 1;
                    }
                    m.next_seq += 1;
                }
            }
            3 => {
                let skip = inp.count(m.cap);
                let want = (inp.count(m.cap) as usize).min(2 * size as usize + 8);
                out.resize(want, rshadow_record::default());
                let n = under.peek(skip, &mut out) as usize;
                let expect: Vec<u64> = m
                    .waiting
                    .iter()
                    .skip(skip as usize)
                    .take(want)
                    .copied()
                    .collect();
                let got: Vec<u64> = out[..n].iter().map(|r| r.seq).collect();
                assert_eq!(got, expect, "peek_at({skip}, {want})");
                for r in &out[..n] {
                    assert_eq!(r.value, r.seq ^ 0x5a5a, "record body");
                    if via_vcpu {
                        assert_eq!(r.vcpu, 5);
                    }
                }
            }
            4 => {
                let n = inp.count(m.cap);
                under.consume(n);
                let k = (n as usize).min(m.waiting.len());
                m.waiting.drain(..k);
                m.read += k as u64;
            }
            5 => {
                assert_eq!(under.take_dropped(), m.dropped, "take_dropped");
                m.dropped = 0;
            }
            6 if inp.u8() % 4 == 0 => {
                under.clear();
                m.cleared += m.waiting.len() as u64;
                m.waiting.clear();
                (m.dropped, m.kept_stat, m.dropped_stat) = (0, 0, 0);
            }
            _ => {}
        }
        assert_eq!(under.len() as usize, m.waiting.len(), "len");
        assert_eq!(under.ring().is_empty(), m.waiting.is_empty());
        if via_vcpu {
            let mut s = rshadow_stats::default();
            // SAFETY: initialised block; s writable.
            unsafe { rshadow_vcpu_stats(under.vcpu(), &mut s) };
            assert_eq!(
                (s.records, s.dropped),
                (m.kept_stat, m.dropped_stat),
                "stats"
            );
        }
    }
    // Drain what is left: nothing lost, nothing made up.  Every record
    // pushed was read, cleared, is read now, or was counted as a drop.
    out.resize(m.cap, rshadow_record::default());
    let n = under.peek(0, &mut out) as usize;
    let rest: Vec<u64> = out[..n].iter().map(|r| r.seq).collect();
    assert_eq!(rest, Vec::from(m.waiting.clone()), "final drain");
    under.consume(n as u32);
    assert_eq!(under.len(), 0);
    assert_eq!(under.take_dropped(), m.dropped, "final drops");
    assert_eq!(m.read + m.cleared + n as u64 + m.dropped_total, m.next_seq);
    drop(under);
    drop(mem);
});
