//! A vCPU's trace ring: fixed-size records, one producer, one consumer.
//!
//! The producer is the vCPU itself, in Xen's fault and VM-exit paths; the
//! consumer is the control domain reading the trace, on any CPU.  Indices
//! are free-running 32-bit counters (the ring size is a power of two no
//! larger than 2^16), so full and empty are told apart without a spare
//! slot.  A full ring drops the new record and counts it: records already
//! in the ring are never overwritten, so a reader never sees a torn one.
//! Every record gets the next sequence number whether it is kept or
//! dropped, so gaps in the sequence are exactly the drops.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::bindings::rshadow_record;

/// Smallest and largest ring, in records.
pub const MIN_RECORDS: u32 = crate::bindings::RSHADOW_RING_MIN;
/// See [`MIN_RECORDS`].
pub const MAX_RECORDS: u32 = crate::bindings::RSHADOW_RING_MAX;

/// Whether `n` is an acceptable ring size.
pub const fn valid_size(n: u32) -> bool {
    n.is_power_of_two() && n >= MIN_RECORDS && n <= MAX_RECORDS
}

/// The ring's indices over storage Xen allocated.
pub struct Ring {
    slots: *const UnsafeCell<rshadow_record>,
    mask: u32,
    /// Next slot the producer fills.
    head: AtomicU32,
    /// Next slot the consumer reads.
    tail: AtomicU32,
    /// Records dropped since the consumer last asked.
    dropped: AtomicU64,
    /// Next sequence number.
    seq: AtomicU64,
}

// SAFETY: the slots are shared between exactly one producer and one
// consumer, and ownership of each slot passes between them through the
// release/acquire pairs on `head` and `tail` (see push and peek_at).
unsafe impl Sync for Ring {}
// SAFETY: as above; the storage is not tied to the creating CPU.
unsafe impl Send for Ring {}

impl Ring {
    /// A ring over `size` records at `slots`.
    ///
    /// # Safety
    /// `slots` must point to `size` writable records that stay allocated,
    /// and are accessed only through this ring, for the ring's lifetime;
    /// `size` must satisfy [`valid_size`].
    pub const unsafe fn new(slots: *mut rshadow_record, size: u32) -> Self {
        Self {
            slots: slots.cast_const().cast(),
            mask: size.wrapping_sub(1),
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            dropped: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        }
    }

    /// Capacity in records.
    pub fn capacity(&self) -> u32 {
        self.mask.wrapping_add(1)
    }

    fn slot(&self, index: u32) -> *mut rshadow_record {
        // The mask keeps the offset inside the allocation for any index.
        let off = (index & self.mask) as usize;
        // SAFETY: off <= mask < size, within the allocation `new` was given.
        unsafe { UnsafeCell::raw_get(self.slots.add(off)) }
    }

    /// Producer: appends `rec`, stamping its sequence number.  Returns false
    /// (and counts a drop) if the ring is full.
    pub fn push(&self, mut rec: rshadow_record) -> bool {
        rec.seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Acquire);
        if head.wrapping_sub(tail) > self.mask {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        // SAFETY: the slot is between tail and tail + size, so the consumer
        // does not read it until the release store below publishes it.
        unsafe { self.slot(head).write(rec) };
        self.head.store(head.wrapping_add(1), Ordering::Release);
        true
    }

    /// Records waiting to be read.
    pub fn len(&self) -> u32 {
        let head = self.head.load(Ordering::Acquire);
        head.wrapping_sub(self.tail.load(Ordering::Relaxed))
    }

    /// True if nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Consumer: copies up to `out.len()` waiting records, starting `skip`
    /// records after the oldest, without consuming them.  Returns how many
    /// were copied.
    pub fn peek_at(&self, skip: u32, out: &mut [rshadow_record]) -> u32 {
        let tail = self.tail.load(Ordering::Relaxed);
        let avail = self.len().saturating_sub(skip);
        let n = avail.min(u32::try_from(out.len()).unwrap_or(u32::MAX));
        for (i, dst) in (0..n).zip(out.iter_mut()) {
            let idx = tail.wrapping_add(skip).wrapping_add(i);
            // SAFETY: idx is before head (acquired in len()), so the
            // producer has published it and will not touch it until tail
            // moves past it.
            *dst = unsafe { self.slot(idx).read() };
        }
        n
    }

    /// Consumer: releases the `n` oldest records (at most those waiting).
    pub fn consume(&self, n: u32) {
        let n = n.min(self.len());
        let tail = self.tail.load(Ordering::Relaxed);
        self.tail.store(tail.wrapping_add(n), Ordering::Release);
    }

    /// Consumer: drops recorded since the last call, and resets the count.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }

    /// Consumer: empties the ring and forgets the drops.
    pub fn clear(&self) {
        self.consume(u32::MAX);
        self.dropped.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use std::sync::Arc;
    use std::vec;
    use std::vec::Vec;

    fn rec(v: u64) -> rshadow_record {
        rshadow_record {
            value: v,
            ..Default::default()
        }
    }

    struct Owned {
        _mem: Vec<rshadow_record>,
        ring: Ring,
    }

    fn ring(size: u32) -> Owned {
        let mut mem = vec![rshadow_record::default(); size as usize];
        // SAFETY: mem lives as long as the ring, in the same struct.
        let ring = unsafe { Ring::new(mem.as_mut_ptr(), size) };
        Owned { _mem: mem, ring }
    }

    #[test]
    fn sizes() {
        assert!(valid_size(MIN_RECORDS) && valid_size(MAX_RECORDS));
        assert!(!valid_size(MIN_RECORDS / 2) && !valid_size(MAX_RECORDS * 2));
        assert!(!valid_size(MIN_RECORDS + 1) && !valid_size(0));
    }

    #[test]
    fn full_ring_drops_new_records_and_counts_them() {
        let o = ring(16);
        let r = &o.ring;
        for i in 0..20 {
            assert_eq!(r.push(rec(i)), i < 16);
        }
        assert_eq!(r.len(), 16);
        assert_eq!(r.take_dropped(), 4);
        assert_eq!(r.take_dropped(), 0);
        let mut out = vec![rshadow_record::default(); 32];
        assert_eq!(r.peek_at(0, &mut out), 16);
        for (i, x) in out[..16].iter().enumerate() {
            assert_eq!((x.value, x.seq), (i as u64, i as u64));
        }
        // Peeking does not consume; skipping reads further on.
        assert_eq!(r.peek_at(10, &mut out), 6);
        assert_eq!(out[0].value, 10);
        r.consume(10);
        assert_eq!(r.len(), 6);
        assert!(r.push(rec(99)));
        // Sequence numbers count the drops: 20 pushes before this one.
        assert_eq!(r.peek_at(6, &mut out), 1);
        assert_eq!(out[0].seq, 20);
        r.clear();
        assert!(r.is_empty());
    }

    #[test]
    fn wraps_many_times() {
        let o = ring(16);
        let r = &o.ring;
        let mut out = vec![rshadow_record::default(); 3];
        let mut expect = 0;
        for i in 0..10_000u64 {
            assert!(r.push(rec(i)));
            if i % 3 == 2 {
                assert_eq!(r.peek_at(0, &mut out), 3);
                for x in &out {
                    assert_eq!(x.value, expect);
                    expect += 1;
                }
                r.consume(3);
            }
        }
    }

    #[test]
    fn concurrent_producer_and_consumer_lose_and_duplicate_nothing() {
        let o = Arc::new(ring(64));
        let p = Arc::clone(&o);
        let producer = std::thread::spawn(move || {
            for i in 0..200_000u64 {
                p.ring.push(rec(i));
            }
        });
        let mut next_seq = 0;
        let mut kept = 0u64;
        let mut out = vec![rshadow_record::default(); 17];
        loop {
            let n = o.ring.peek_at(0, &mut out) as usize;
            for x in &out[..n] {
                // Records come in order; gaps are drops, values match seqs.
                assert!(x.seq >= next_seq);
                assert_eq!(x.value, x.seq);
                next_seq = x.seq + 1;
                kept += 1;
            }
            o.ring.consume(n as u32);
            if producer.is_finished() && o.ring.is_empty() {
                break;
            }
        }
        producer.join().unwrap();
        assert_eq!(kept + o.ring.take_dropped(), 200_000);
    }
}
