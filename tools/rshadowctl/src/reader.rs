//! Reading the vCPUs' rings in rounds: each ring drained (READ_TRACE's
//! `remaining` says when), within two budgets, and the domain's vCPUs
//! counted by reading until Xen refuses one.
//!
//! - `room`, the records the caller can still use (a `--count`): no vCPU is
//!   read beyond it, since reading consumes;
//! - with `once`, what each ring held when it was first read, at most a
//!   full ring (`RING_MAX`): a vCPU that writes records as fast as they
//!   are read (a tracer whose own memory is watched) cannot keep a
//!   snapshot from ending;
//! - otherwise at most a full ring per vCPU per round, so that one busy
//!   vCPU does not starve the others.

use std::collections::HashMap;

use crate::abi::{RING_MAX, Record};

/// One read of a ring: its records, the records lost before them, and
/// the records it still holds; or an errno.
pub type Read = Result<(Vec<Record>, u64, u32), i32>;

/// Records and events of one round.
#[derive(Debug, Default)]
pub struct Round {
    /// Every record read, vCPU by vCPU, each vCPU's in ring order.
    pub records: Vec<Record>,
    /// (vCPU, records lost) for each read that reported a loss.
    pub lost: Vec<(u32, u64)>,
    /// Whether a ring still held records when the round moved on.
    pub left: bool,
}

/// A failed read: the vCPU and its errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub vcpu: u32,
    pub errno: i32,
}

/// The state of the rounds of one trace.
#[derive(Debug)]
pub struct Reader {
    only: Option<u32>,
    vcpus: Option<u32>,
    once: bool,
    taken: HashMap<u32, u64>,
    batch: u32,
    max_vcpus: u32,
}

impl Reader {
    /// Rounds over vCPU `only`, or over every vCPU (counted as they are
    /// read, up to `max_vcpus`); reads of at most `batch` records.
    pub fn new(only: Option<u32>, once: bool, batch: u32, max_vcpus: u32) -> Self {
        Reader {
            only,
            vcpus: only.map(|v| v.saturating_add(1)),
            once,
            taken: HashMap::new(),
            batch: batch.max(1),
            max_vcpus,
        }
    }

    /// The vCPUs found so far, once counted.
    pub fn vcpus(&self) -> Option<u32> {
        self.vcpus
    }

    /// Whether a `once` reader has everything it will read: every ring it
    /// read held nothing more, or it has read a full ring of each.
    pub fn snapshot_done(&self, round: &Round) -> bool {
        self.once && (!round.left || round.records.is_empty())
    }

    /// One round; `read(vcpu, max)` reads a ring.  Xen's EINVAL for a vCPU
    /// past the first ends the count of vCPUs; any other error ends the
    /// round with it.
    pub fn round(
        &mut self,
        mut room: u64,
        mut read: impl FnMut(u32, u32) -> Read,
    ) -> Result<Round, ReadError> {
        let mut out = Round::default();
        let mut v = self.only.unwrap_or(0);
        while self.vcpus.is_none_or(|n| v < n) && v < self.max_vcpus && room > 0 {
            let mut this = 0u64;
            loop {
                let budget = room.min(if self.once {
                    u64::from(RING_MAX).saturating_sub(self.taken.get(&v).copied().unwrap_or(0))
                } else {
                    u64::from(RING_MAX).saturating_sub(this)
                });
                if budget == 0 {
                    break;
                }
                let max = u64::from(self.batch).min(budget) as u32;
                let (recs, lost, remaining) = match read(v, max) {
                    Ok(r) => r,
                    Err(libc::EINVAL) if self.vcpus.is_none() && v > 0 => {
                        self.vcpus = Some(v);
                        break;
                    }
                    Err(errno) => return Err(ReadError { vcpu: v, errno }),
                };
                if lost > 0 {
                    out.lost.push((v, lost));
                }
                // Never more than asked for, whatever the reader returns.
                let n = (recs.len() as u64).min(u64::from(max));
                this += n;
                room = room.saturating_sub(n);
                *self.taken.entry(v).or_default() += n;
                out.records.extend(recs.into_iter().take(n as usize));
                if remaining == 0 || n == 0 {
                    break;
                }
                out.left = true;
            }
            if self.vcpus.is_some_and(|n| v >= n) || self.only.is_some() {
                break;
            }
            v += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(vcpu: u16, from: u64, n: u64) -> Vec<Record> {
        (from..from + n)
            .map(|seq| Record {
                vcpu,
                seq,
                ..Default::default()
            })
            .collect()
    }

    /// A domain of `vcpus` vCPUs whose rings refill as fast as they are
    /// read: every read returns `max` records and says as many remain.
    fn endless(vcpus: u32) -> impl FnMut(u32, u32) -> Read {
        let mut next = HashMap::new();
        move |v, max| {
            if v >= vcpus {
                return Err(libc::EINVAL);
            }
            let seq = next.entry(v).or_insert(0u64);
            let r = recs(v as u16, *seq, u64::from(max));
            *seq += u64::from(max);
            Ok((r, 0, max))
        }
    }

    /// Seen: `trace --once` of a domain whose watched frame held the
    /// tracer's own memory never ended, each read making the next.
    #[test]
    fn a_snapshot_ends_though_a_ring_refills_as_fast_as_it_is_read() {
        let mut r = Reader::new(None, true, 1024, 4096);
        let mut read = endless(2);
        let mut total = 0;
        let mut rounds = 0;
        loop {
            let round = r.round(u64::MAX, &mut read).unwrap();
            total += round.records.len();
            rounds += 1;
            if r.snapshot_done(&round) {
                break;
            }
            assert!(rounds < 10, "the snapshot did not end");
        }
        // A full ring of each vCPU, no more.
        assert_eq!(total, 2 * RING_MAX as usize);
        assert_eq!(r.vcpus(), Some(2));
    }

    #[test]
    fn a_stream_reads_at_most_a_full_ring_of_a_vcpu_per_round() {
        let mut r = Reader::new(None, false, 1024, 4096);
        let round = r.round(u64::MAX, endless(3)).unwrap();
        assert_eq!(round.records.len(), 3 * RING_MAX as usize);
        assert!(round.left);
    }

    /// Found while merging: with --count's room spent before any read of
    /// vCPU 1, the round went on counting vCPU ids it never read.
    #[test]
    fn no_read_and_no_vcpu_scan_beyond_the_room() {
        let mut calls = 0;
        let mut r = Reader::new(None, false, 1024, 4096);
        let round = r
            .round(400, |v, max| {
                calls += 1;
                assert_eq!(v, 0, "vCPU {v} read with no room");
                Ok((recs(0, 0, u64::from(max)), 0, 600))
            })
            .unwrap();
        assert_eq!(round.records.len(), 400);
        assert_eq!(calls, 1);
        assert_eq!(r.vcpus(), None);
        // And a round with no room reads nothing at all.
        let round = r.round(0, |_, _| panic!("read with no room")).unwrap();
        assert!(round.records.is_empty());
    }

    #[test]
    fn vcpus_are_counted_by_xens_refusal_and_errors_name_their_vcpu() {
        let mut r = Reader::new(None, false, 16, 4096);
        let round = r
            .round(u64::MAX, |v, _| match v {
                0 | 1 => Ok((recs(v as u16, 0, 3), if v == 1 { 5 } else { 0 }, 0)),
                _ => Err(libc::EINVAL),
            })
            .unwrap();
        assert_eq!(r.vcpus(), Some(2));
        assert_eq!(round.records.len(), 6);
        assert_eq!(round.lost, [(1, 5)]);
        assert!(!round.left);
        // vCPU 0's EINVAL is not a count: it is an error.
        let mut r = Reader::new(None, false, 16, 4096);
        assert_eq!(
            r.round(u64::MAX, |_, _| Err(libc::EINVAL)).unwrap_err(),
            ReadError {
                vcpu: 0,
                errno: libc::EINVAL
            }
        );
        // Nor is another errno.
        let mut r = Reader::new(None, false, 16, 4096);
        let e = r
            .round(u64::MAX, |v, _| {
                if v == 0 {
                    Ok((vec![], 0, 0))
                } else {
                    Err(libc::EFAULT)
                }
            })
            .unwrap_err();
        assert_eq!(e.vcpu, 1);
    }

    #[test]
    fn only_one_vcpu_is_read_when_asked() {
        let mut r = Reader::new(Some(3), false, 16, 4096);
        let round = r
            .round(u64::MAX, |v, _| {
                assert_eq!(v, 3);
                Ok((recs(3, 0, 2), 0, 0))
            })
            .unwrap();
        assert_eq!(round.records.len(), 2);
    }

    #[test]
    fn a_vcpu_count_beyond_the_most_a_domain_has_stops() {
        let mut r = Reader::new(None, false, 16, 8);
        let mut seen = 0;
        r.round(u64::MAX, |_, _| {
            seen += 1;
            Ok((vec![], 0, 0))
        })
        .unwrap();
        assert_eq!(seen, 8);
    }
}
