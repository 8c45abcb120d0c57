//! The records of several vCPUs, merged into one stream in timestamp order.
//!
//! Each vCPU's ring is read in its own order (its sequence numbers); the
//! rings are read one after another, so a record of one vCPU can reach the
//! reader after later records of another.  Records are therefore held, per
//! vCPU in ring order, and released oldest first (a k-way merge on `time`)
//! once the newest record read from any vCPU is at least `window` newer:
//! the watermark.  [`Merge::flush`] releases everything (at the end, on
//! Ctrl-C, and when the trace has been quiet for a window).
//!
//! Xen's system time is per physical CPU and only calibrated to agree, and
//! a vCPU that migrates can stamp a record a little before its previous
//! one; ring order always wins within a vCPU, so such a pair stays in the
//! order it ran.  A record that arrives after records newer than it were
//! released (more than `window` late) is released at once and counted in
//! [`Merge::late`]: the stream says so rather than hold it forever.

use std::collections::{BTreeMap, VecDeque};

use crate::abi::Record;

/// Held records and the watermark's state.
#[derive(Debug, Default)]
pub struct Merge {
    held: BTreeMap<u16, VecDeque<Record>>,
    window_ns: u64,
    newest: u64,
    released: Option<u64>,
    late: u64,
}

impl Merge {
    /// A merge that holds each record until one `window_ns` newer was read.
    pub fn new(window_ns: u64) -> Self {
        Merge {
            window_ns,
            ..Default::default()
        }
    }

    /// Takes a record read from its vCPU's ring, after the vCPU's earlier
    /// ones.
    pub fn push(&mut self, r: Record) {
        self.newest = self.newest.max(r.time);
        self.held.entry(r.vcpu).or_default().push_back(r);
    }

    /// How many records are held.
    pub fn held(&self) -> usize {
        self.held.values().map(VecDeque::len).sum()
    }

    /// Records released so far after newer ones had been (late by more
    /// than the window).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// The records whose turn has come, oldest first: those at or below the
    /// watermark.
    pub fn ready(&mut self) -> Vec<Record> {
        let mark = self.newest.saturating_sub(self.window_ns);
        self.release(Some(mark))
    }

    /// Every held record, oldest first.
    pub fn flush(&mut self) -> Vec<Record> {
        self.release(None)
    }

    fn release(&mut self, mark: Option<u64>) -> Vec<Record> {
        let mut out = Vec::new();
        loop {
            // The vCPU whose next record is oldest (the lowest vCPU on a tie).
            let next = self
                .held
                .iter()
                .filter_map(|(v, q)| q.front().map(|r| (r.time, *v)))
                .min();
            let Some((time, v)) = next else {
                break;
            };
            if mark.is_some_and(|m| time > m) {
                break;
            }
            let Some(r) = self.held.get_mut(&v).and_then(VecDeque::pop_front) else {
                break;
            };
            if self.released.is_some_and(|t| r.time < t) {
                self.late += 1;
            } else {
                self.released = Some(r.time);
            }
            out.push(r);
        }
        self.held.retain(|_, q| !q.is_empty());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(vcpu: u16, seq: u64, time: u64) -> Record {
        Record {
            vcpu,
            seq,
            time,
            ..Default::default()
        }
    }

    fn ids(rs: &[Record]) -> Vec<(u16, u64)> {
        rs.iter().map(|r| (r.vcpu, r.seq)).collect()
    }

    #[test]
    fn releases_in_time_order_below_the_watermark() {
        let mut m = Merge::new(100);
        // vCPU 0 read first, then vCPU 1, whose records interleave.
        for (s, t) in [(0, 10), (1, 30), (2, 50)] {
            m.push(rec(0, s, t));
        }
        for (s, t) in [(0, 20), (1, 40), (2, 200)] {
            m.push(rec(1, s, t));
        }
        // Newest 200, window 100: everything at or below 100.
        assert_eq!(ids(&m.ready()), [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2)]);
        assert_eq!(m.held(), 1);
        assert_eq!(ids(&m.flush()), [(1, 2)]);
        assert_eq!((m.held(), m.late()), (0, 0));
    }

    #[test]
    fn a_vcpus_own_order_wins_over_a_clock_that_went_back() {
        let mut m = Merge::new(0);
        // The vCPU migrated: its second record is stamped 5 ns earlier.
        m.push(rec(0, 0, 100));
        m.push(rec(0, 1, 95));
        m.push(rec(1, 0, 97));
        let out = m.flush();
        assert_eq!(ids(&out), [(1, 0), (0, 0), (0, 1)]);
        // Released after a newer one: counted, not held.
        assert_eq!(m.late(), 1);
    }

    #[test]
    fn a_record_later_than_the_window_is_released_and_counted() {
        let mut m = Merge::new(10);
        m.push(rec(0, 0, 100));
        m.push(rec(0, 1, 200));
        assert_eq!(ids(&m.ready()), [(0, 0)]);
        // vCPU 1's record of time 50 arrives after 100 was released.
        m.push(rec(1, 0, 50));
        assert_eq!(ids(&m.ready()), [(1, 0)]);
        assert_eq!(m.late(), 1);
        assert_eq!(ids(&m.flush()), [(0, 1)]);
    }

    #[test]
    fn nothing_is_released_before_its_window_has_passed() {
        let mut m = Merge::new(1000);
        m.push(rec(0, 0, 10));
        m.push(rec(1, 0, 900));
        assert!(m.ready().is_empty());
        assert_eq!(m.held(), 2);
    }
}
