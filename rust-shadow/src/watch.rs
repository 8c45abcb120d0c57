//! The per-domain watch set: which guest frames are watched, for which kinds
//! of access, and with what step budget.
//!
//! Ranges are kept sorted and disjoint in a fixed-size table, so a lookup is
//! a binary search with no allocation.  In front of it sits a bitmap filter
//! with a bit per frame for guests of up to 4 GiB (per 2^k frames above,
//! wrapping round beyond 2^20 granules): a frame whose bit is clear is
//! certainly unwatched, which makes the common case, a miss, a handful of
//! instructions whatever the table holds.  For such guests every miss is
//! that case; a larger guest's frames that share a granule with a watched
//! one go on to the search.
//!
//! Locking: Xen's glue calls the mutating methods with the domain's paging
//! lock held, and every lookup happens under the same lock (shadow
//! propagation and the fault path already hold it).

use bitflags::bitflags;

use crate::bindings;
use crate::errno::{CtlResult, Errno};

/// Most ranges one domain may watch.
pub const MAX_WATCHES: usize = bindings::RSHADOW_MAX_WATCHES as usize;

/// Most frames open at once for a native run (see [`WatchSet::open`]):
/// enough for one instruction's code, data and stack, each straddling.
pub const MAX_OPEN: usize = bindings::RSHADOW_MAX_OPEN as usize;

/// Bits in the filter, as a power of two: a bit per frame up to 4 GiB.
const FILTER_ORDER: u32 = 20;
const FILTER_BITS: usize = 1 << FILTER_ORDER;
const FILTER_WORDS: usize = FILTER_BITS / 64;

bitflags! {
    /// Kinds of access a watch traps.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct Access: u32 {
        /// Data reads.
        const READ = bindings::RSHADOW_ACCESS_R;
        /// Data writes.
        const WRITE = bindings::RSHADOW_ACCESS_W;
        /// Instruction fetches.
        const EXEC = bindings::RSHADOW_ACCESS_X;
    }
}

impl Access {
    /// Whether the shadow entry must be not present (reads and fetches are
    /// only caught that way); a write-only watch leaves it present,
    /// read-only.
    pub const fn needs_not_present(self) -> bool {
        self.intersects(Access::READ.union(Access::EXEC))
    }
}

/// One watched range of guest frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    /// First frame.
    pub first: u64,
    /// Last frame, inclusive.
    pub last: u64,
    /// Accesses that are trapped and recorded.
    pub access: Access,
    /// Instructions to single-step after each recorded access.
    pub steps: u32,
    /// Set when the watch was switched off because an access to it could
    /// not be emulated; it then traps nothing.
    pub disabled: bool,
    /// Set, with `disabled`, when a frame of the range left the guest's
    /// p2m or was moved to another machine frame (ballooned out, paged
    /// out, remapped): what the watch named is no longer there.
    pub gone: bool,
    /// Its name for as long as the domain's table lives, set by
    /// [`WatchSet::add`] (never 0 there): unlike its index, which shifts
    /// when another range is added or removed, it names this watch and no
    /// other to a fault that must come back to it after dropping the
    /// paging lock.
    pub id: u64,
}

impl Watch {
    const EMPTY: Watch = Watch {
        first: 0,
        last: 0,
        access: Access::empty(),
        steps: 0,
        disabled: false,
        gone: false,
        id: 0,
    };

    /// Number of frames.
    pub const fn frames(&self) -> u64 {
        // last >= first always holds for a stored watch.
        self.last.wrapping_sub(self.first).wrapping_add(1)
    }

    /// The access kinds that currently trap.
    pub const fn active_access(&self) -> Access {
        if self.disabled {
            Access::empty()
        } else {
            self.access
        }
    }
}

/// The watch table of one domain.
pub struct WatchSet {
    len: usize,
    /// Active ranges that trap fetches.
    exec: usize,
    /// Frames per filter bit, as a shift (see [`WatchSet::size_filter`]).
    shift: u32,
    /// The id of the last range added.
    last_id: u64,
    ranges: [Watch; MAX_WATCHES],
    filter: [u64; FILTER_WORDS],
    /// Watched frames open to one vCPU for a native run: `(gfn, vCPU)`.
    open: [(u64, u32); MAX_OPEN],
    open_len: usize,
}

impl Default for WatchSet {
    fn default() -> Self {
        Self::new()
    }
}

impl WatchSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            len: 0,
            exec: 0,
            shift: 0,
            last_id: 0,
            ranges: [Watch::EMPTY; MAX_WATCHES],
            filter: [0; FILTER_WORDS],
            open: [(0, 0); MAX_OPEN],
            open_len: 0,
        }
    }

    /// Sizes the filter's granules for a guest whose highest frame is
    /// `max_gfn`: the smallest that give every frame a bit of its own.
    /// Frames above still work (the filter wraps round; it only ever
    /// passes too much, never too little).
    pub fn size_filter(&mut self, max_gfn: u64) {
        self.shift = Self::shift_for(max_gfn);
        self.filter_rebuild();
    }

    /// Coarsens the granules if `max_gfn` needs it; never refines them.
    pub fn grow_filter(&mut self, max_gfn: u64) {
        if Self::shift_for(max_gfn) > self.shift {
            self.size_filter(max_gfn);
        }
    }

    fn shift_for(max_gfn: u64) -> u32 {
        let bits = u64::BITS.saturating_sub(max_gfn.leading_zeros());
        bits.saturating_sub(FILTER_ORDER)
    }

    #[inline(always)]
    fn granule(&self, gfn: u64) -> u64 {
        // shift < 64 always (size_filter); wrapping_shr masks it anyway.
        gfn.wrapping_shr(self.shift)
    }

    #[inline(always)]
    fn granule_bit(&self, gfn: u64) -> usize {
        // Masked, so the index is in bounds even under speculation.
        self.granule(gfn) as usize & (FILTER_BITS - 1)
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if an active range traps instruction fetches.
    pub fn traps_fetches(&self) -> bool {
        self.exec != 0
    }

    fn count_exec(&mut self) {
        self.exec = self
            .as_slice()
            .iter()
            .filter(|w| w.active_access().contains(Access::EXEC))
            .count();
    }

    /// The ranges in ascending order.
    pub fn as_slice(&self) -> &[Watch] {
        self.ranges.get(..self.len).unwrap_or(&[])
    }

    /// The range holding `gfn`, if any, with its index.
    #[inline]
    pub fn lookup(&self, gfn: u64) -> Option<(usize, &Watch)> {
        let bit = self.granule_bit(gfn);
        let word = self.filter.get(bit / 64).copied().unwrap_or(0);
        if word & (1u64 << (bit % 64)) == 0 {
            return None;
        }
        self.search(gfn)
    }

    /// Binary search without the filter.
    fn search(&self, gfn: u64) -> Option<(usize, &Watch)> {
        let ranges = self.as_slice();
        // Index of the first range starting above gfn.
        let above = ranges.partition_point(|w| w.first <= gfn);
        let idx = above.checked_sub(1)?;
        let w = ranges.get(idx)?;
        (gfn <= w.last).then_some((idx, w))
    }

    /// Adds a range with a new [`Watch::id`] (the one given is ignored).
    /// The caller has validated its fields; this checks that it overlaps
    /// nothing and that there is room.
    pub fn add(&mut self, w: Watch) -> CtlResult<usize> {
        if w.last < w.first {
            return Err(Errno::Inval);
        }
        let ranges = self.as_slice();
        let pos = ranges.partition_point(|r| r.first < w.first);
        let overlaps_prev = pos
            .checked_sub(1)
            .and_then(|i| ranges.get(i))
            .is_some_and(|p| p.last >= w.first);
        let overlaps_next = ranges.get(pos).is_some_and(|n| n.first <= w.last);
        if overlaps_prev || overlaps_next {
            return Err(Errno::Busy);
        }
        if self.len >= MAX_WATCHES {
            return Err(Errno::NoSpc);
        }
        // 2^64 additions are out of reach: an id is never reused.
        self.last_id = self.last_id.wrapping_add(1);
        let w = Watch {
            id: self.last_id,
            ..w
        };
        // Shift the tail up by one and insert; len < MAX_WATCHES here.
        // Element by element through get(): slice rotation carries a panic
        // path the compiler cannot always remove.
        let mut i = self.len;
        while i > pos {
            let prev = i.wrapping_sub(1);
            let src = self.ranges.get(prev).copied();
            if let (Some(src), Some(dst)) = (src, self.ranges.get_mut(i)) {
                *dst = src;
            }
            i = prev;
        }
        if let Some(slot) = self.ranges.get_mut(pos) {
            *slot = w;
        }
        self.len = self.len.saturating_add(1);
        self.filter_add(&w);
        self.count_exec();
        Ok(pos)
    }

    /// Removes the range that starts at `first` and has `frames` frames.
    pub fn remove(&mut self, first: u64, frames: u64) -> CtlResult<Watch> {
        let idx = match self.search(first) {
            Some((idx, w)) if w.first == first && w.frames() == frames => idx,
            _ => return Err(Errno::NoEnt),
        };
        let removed = self.ranges.get(idx).copied().ok_or(Errno::NoEnt)?;
        let mut i = idx;
        while i.saturating_add(1) < self.len {
            let next = i.saturating_add(1);
            let src = self.ranges.get(next).copied();
            if let (Some(src), Some(dst)) = (src, self.ranges.get_mut(i)) {
                *dst = src;
            }
            i = next;
        }
        self.len = self.len.saturating_sub(1);
        self.filter_rebuild();
        self.count_exec();
        Ok(removed)
    }

    /// Switches off the range that holds `gfn`, if it is still the watch
    /// named `id` (see [`Watch::disabled`]).
    pub fn disable(&mut self, gfn: u64, id: u64) -> Option<Watch> {
        let (idx, w) = self.search(gfn)?;
        if w.id != id {
            return None;
        }
        let w = self.ranges.get_mut(..self.len)?.get_mut(idx)?;
        w.disabled = true;
        let w = *w;
        self.count_exec();
        Some(w)
    }

    /// Switches off, for good, the range that holds `gfn`: the frame left
    /// the p2m.  Returns the range if this changed it (a range already
    /// gone is left as it is).  Its shadow entries need no revoking here:
    /// a hidden one now faults as an unwatched frame's, and the fault
    /// rebuilds it.
    pub fn gone(&mut self, gfn: u64) -> Option<Watch> {
        let (idx, w) = self.search(gfn)?;
        if w.gone {
            return None;
        }
        let w = self.ranges.get_mut(..self.len)?.get_mut(idx)?;
        w.disabled = true;
        w.gone = true;
        let w = *w;
        self.count_exec();
        Some(w)
    }

    /// Opens watched frame `gfn` to vCPU `vcpu` for a native run: until
    /// [`WatchSet::close`], its shadow entries are built as if unwatched
    /// and its faults are not watched ones.  The caller has paused the
    /// domain's other vCPUs, which share the shadow tables.  False if the
    /// set is full (nothing changes); true if opened, or open already.
    pub fn open(&mut self, gfn: u64, vcpu: u32) -> bool {
        if self.is_open(gfn) {
            return true;
        }
        match self.open.get_mut(self.open_len) {
            Some(slot) => {
                *slot = (gfn, vcpu);
                self.open_len = self.open_len.saturating_add(1);
                true
            }
            None => false,
        }
    }

    /// Whether `gfn` is open for a native run.
    #[inline]
    pub fn is_open(&self, gfn: u64) -> bool {
        self.open_len != 0
            && self
                .open
                .get(..self.open_len)
                .is_some_and(|o| o.iter().any(|&(g, _)| g == gfn))
    }

    /// Closes the frames `vcpu` opened, copying up to `out.len()` of them
    /// to `out` (the caller hides them again); returns how many it copied.
    /// All of them close, copied or not.
    pub fn close(&mut self, vcpu: u32, out: &mut [u64]) -> usize {
        let mut kept = 0;
        let mut copied = 0;
        for i in 0..self.open_len {
            let Some(&(gfn, owner)) = self.open.get(i) else {
                break;
            };
            if owner == vcpu {
                if let Some(o) = out.get_mut(copied) {
                    *o = gfn;
                    copied = copied.saturating_add(1);
                }
            } else {
                if let Some(slot) = self.open.get_mut(kept) {
                    *slot = (gfn, owner);
                }
                kept = kept.saturating_add(1);
            }
        }
        self.open_len = kept;
        copied
    }

    /// Removes every range, and closes every open frame.
    pub fn clear(&mut self) {
        self.len = 0;
        self.exec = 0;
        self.open_len = 0;
        // In place: the filter is too big for Xen's stack.
        self.filter.fill(0);
    }

    /// Sets filter bits `lo..=hi` (lo <= hi < FILTER_BITS), a word at a time.
    fn filter_set(&mut self, lo: usize, hi: usize) {
        let mut b = lo;
        while b <= hi {
            let bit = b % 64;
            let n = 64usize
                .wrapping_sub(bit)
                .min(hi.wrapping_sub(b).wrapping_add(1));
            let mask = u64::MAX.wrapping_shr(64u32.wrapping_sub(n as u32)) << bit;
            if let Some(word) = self.filter.get_mut(b / 64) {
                *word |= mask;
            }
            b = b.wrapping_add(n);
        }
    }

    fn filter_add(&mut self, w: &Watch) {
        let (g_first, g_last) = (self.granule(w.first), self.granule(w.last));
        if g_last.wrapping_sub(g_first) >= (FILTER_BITS - 1) as u64 {
            self.filter.fill(u64::MAX);
            return;
        }
        let (lo, hi) = (self.granule_bit(w.first), self.granule_bit(w.last));
        if lo <= hi {
            self.filter_set(lo, hi);
        } else {
            // The range wraps round the filter.
            self.filter_set(lo, FILTER_BITS - 1);
            self.filter_set(0, hi);
        }
    }

    fn filter_rebuild(&mut self) {
        self.filter.fill(0);
        for i in 0..self.len {
            if let Some(w) = self.ranges.get(i).copied() {
                self.filter_add(&w);
            }
        }
    }

    /// Checks the invariants: sorted, disjoint, well formed, and every
    /// watched frame passes the filter.  For tests and debug builds.
    pub fn check_invariants(&self) -> bool {
        let ranges = self.as_slice();
        let ordered = ranges.windows(2).all(|p| match p {
            [a, b] => a.last < b.first,
            _ => true,
        });
        let formed = ranges.iter().all(|w| w.first <= w.last);
        let filtered = ranges.iter().all(|w| {
            [w.first, w.last].iter().all(|&g| {
                let bit = self.granule_bit(g);
                self.filter
                    .get(bit / 64)
                    .is_some_and(|word| word & (1u64 << (bit % 64)) != 0)
            })
        });
        self.len <= MAX_WATCHES && ordered && formed && filtered
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
    use std::boxed::Box;

    fn w(first: u64, frames: u64, access: Access) -> Watch {
        Watch {
            first,
            last: first + frames - 1,
            access,
            steps: 0,
            disabled: false,
            gone: false,
            id: 0,
        }
    }

    fn set() -> Box<WatchSet> {
        Box::new(WatchSet::new())
    }

    #[test]
    fn add_lookup_remove() {
        let mut s = set();
        assert_eq!(s.add(w(100, 10, Access::READ)), Ok(0));
        assert_eq!(s.add(w(10, 1, Access::WRITE)), Ok(0));
        assert_eq!(s.add(w(200, 5, Access::EXEC)), Ok(2));
        assert!(s.check_invariants());
        assert_eq!(s.lookup(10).unwrap().1.access, Access::WRITE);
        assert_eq!(s.lookup(105).unwrap().0, 1);
        assert_eq!(s.lookup(109).unwrap().1.first, 100);
        assert!(s.lookup(110).is_none());
        assert!(s.lookup(99).is_none());
        assert!(s.lookup(11).is_none());
        assert!(s.lookup(0).is_none());
        assert!(s.lookup(u64::MAX).is_none());
        assert_eq!(s.remove(100, 9), Err(Errno::NoEnt));
        assert_eq!(s.remove(101, 9), Err(Errno::NoEnt));
        assert_eq!(s.remove(100, 10).unwrap().first, 100);
        assert!(s.lookup(105).is_none());
        assert_eq!(s.len(), 2);
        assert!(s.check_invariants());
    }

    #[test]
    fn overlap_is_busy_and_changes_nothing() {
        let mut s = set();
        s.add(w(100, 10, Access::READ)).unwrap();
        for bad in [
            w(95, 6, Access::READ),
            w(109, 3, Access::READ),
            w(102, 2, Access::READ),
            w(90, 40, Access::READ),
        ] {
            assert_eq!(s.add(bad), Err(Errno::Busy));
        }
        assert_eq!(
            s.as_slice(),
            &[Watch {
                id: 1,
                ..w(100, 10, Access::READ)
            }]
        );
        // Adjacent ranges are fine.
        s.add(w(110, 1, Access::READ)).unwrap();
        s.add(w(99, 1, Access::READ)).unwrap();
        assert!(s.check_invariants());
    }

    #[test]
    fn full_table_is_nospc() {
        let mut s = set();
        for i in 0..MAX_WATCHES as u64 {
            s.add(w(i * 2, 1, Access::READ)).unwrap();
        }
        assert_eq!(s.add(w(1_000_000, 1, Access::READ)), Err(Errno::NoSpc));
        assert_eq!(s.len(), MAX_WATCHES);
        assert!(s.check_invariants());
        assert!(s.lookup(4094).is_some());
        assert!(s.lookup(4095).is_none());
    }

    #[test]
    fn huge_range_and_extremes() {
        let mut s = set();
        s.add(w(1 << 40, 1 << 30, Access::READ)).unwrap();
        s.add(Watch {
            first: u64::MAX - 1,
            last: u64::MAX,
            ..w(0, 1, Access::READ)
        })
        .unwrap();
        assert!(s.lookup((1 << 40) + (1 << 29)).is_some());
        assert!(s.lookup(u64::MAX).is_some());
        assert!(s.lookup((1 << 40) - 1).is_none());
        assert!(s.check_invariants());
    }

    #[test]
    fn disable_keeps_the_range_but_traps_nothing() {
        let mut s = set();
        s.add(w(5, 1, Access::READ | Access::WRITE)).unwrap();
        let id = s.lookup(5).unwrap().1.id;
        let d = s.disable(5, id).unwrap();
        assert!(d.disabled);
        assert_eq!(s.lookup(5).unwrap().1.active_access(), Access::empty());
        assert!(s.disable(6, id).is_none());
    }

    #[test]
    fn a_frame_that_left_the_p2m_switches_its_whole_range_off_once() {
        let mut s = set();
        s.add(w(100, 8, Access::WRITE | Access::EXEC)).unwrap();
        s.add(w(200, 1, Access::READ)).unwrap();
        // Frame 103 is ballooned out: the range 100-107 stops trapping.
        let g = s.gone(103).unwrap();
        assert!(g.gone && g.disabled && (g.first, g.last) == (100, 107));
        for f in 100..108 {
            assert_eq!(s.lookup(f).unwrap().1.active_access(), Access::empty());
        }
        // Said once: another of its frames going changes nothing more.
        assert!(s.gone(105).is_none());
        // Unwatched frames, and other ranges, are left alone.
        assert!(s.gone(150).is_none());
        assert_eq!(s.lookup(200).unwrap().1.active_access(), Access::READ);
        assert!(s.check_invariants());
    }

    #[test]
    fn a_watch_is_named_by_an_id_that_never_shifts() {
        let mut s = set();
        s.add(w(50, 1, Access::READ)).unwrap();
        let (idx, first) = s.lookup(50).map(|(i, w)| (i, w.id)).unwrap();
        // Another vCPU adds a range below: the index shifts, the id not.
        s.add(w(10, 1, Access::READ)).unwrap();
        let (idx2, same) = s.lookup(50).map(|(i, w)| (i, w.id)).unwrap();
        assert_eq!((idx, idx2, same), (0, 1, first));
        assert!(s.disable(10, first).is_none(), "not the range below");
        assert!(!s.lookup(10).unwrap().1.disabled);
        // Removed and added again: a new watch, which a stale fault leaves.
        s.remove(50, 1).unwrap();
        s.add(w(50, 1, Access::READ)).unwrap();
        assert_ne!(s.lookup(50).unwrap().1.id, first);
        assert!(s.disable(50, first).is_none());
        assert!(!s.lookup(50).unwrap().1.disabled);
        // Ids are not reused after a reset either.
        s.clear();
        s.add(w(50, 1, Access::READ)).unwrap();
        assert!(s.lookup(50).unwrap().1.id > first);
    }

    /// Whether the filter passes `gfn` on to the search.
    fn passes(s: &WatchSet, gfn: u64) -> bool {
        let bit = s.granule_bit(gfn);
        s.filter[bit / 64] & (1u64 << (bit % 64)) != 0
    }

    #[test]
    fn filter_is_exact_up_to_4_gib() {
        let mut s = set();
        s.size_filter(0xf_ffff);
        assert_eq!(s.shift, 0);
        // Ranges across word boundaries, and single frames.
        s.add(w(60, 10, Access::WRITE)).unwrap();
        s.add(w(200, 1, Access::WRITE)).unwrap();
        s.add(w(0xf_ffff, 1, Access::WRITE)).unwrap();
        for g in 0..0x1000u64 {
            assert_eq!(passes(&s, g), s.lookup(g).is_some(), "{g:#x}");
        }
        assert!(passes(&s, 0xf_ffff) && !passes(&s, 0xf_fffe));
        assert!(s.check_invariants());
        // Removing rebuilds exactly.
        s.remove(60, 10).unwrap();
        assert!((55..75).all(|g| !passes(&s, g)));
        assert!(passes(&s, 200));
    }

    #[test]
    fn filter_granules_grow_with_the_guest_and_wrap() {
        let mut s = set();
        s.size_filter(0);
        assert_eq!(s.shift, 0);
        s.size_filter(1 << 20);
        assert_eq!(s.shift, 1);
        s.size_filter(u64::MAX);
        assert_eq!(s.shift, 44);
        s.size_filter((1 << 24) - 1);
        assert_eq!(s.shift, 4);
        // A frame beyond the sized guest wraps round: its granule's bit is
        // shared with a low one, so it may pass, and is still found.
        s.add(w((1 << 24) + 0x35, 1, Access::READ)).unwrap();
        assert!(passes(&s, 0x30) && !passes(&s, 0x40));
        assert!(s.lookup((1 << 24) + 0x35).is_some());
        assert!(s.lookup(0x35).is_none());
        // A range wrapping round the end of the filter sets both ends.
        s.add(w((1 << 24) - 0x20, 0x40, Access::READ)).unwrap();
        assert!(passes(&s, (1 << 24) - 1) && passes(&s, 0x10) && !passes(&s, 0x100));
        // One covering the whole filter sets it all.
        s.add(w(1 << 30, 1 << 25, Access::READ)).unwrap();
        assert!(passes(&s, 0x12345));
        assert!(s.check_invariants());
    }

    #[test]
    fn not_present_rule() {
        assert!(Access::READ.needs_not_present());
        assert!(Access::EXEC.needs_not_present());
        assert!((Access::WRITE | Access::EXEC).needs_not_present());
        assert!(!Access::WRITE.needs_not_present());
    }
}
