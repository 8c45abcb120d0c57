//! Argument values, parsed and checked before any hypercall.  Each parser
//! is a clap `value_parser`; a refusal exits with status 2 (usage).

use crate::abi;
use std::fmt;

/// A range of guest frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frames {
    pub first: u64,
    pub nr: u64,
}

impl Frames {
    pub fn last(&self) -> u64 {
        self.first + self.nr - 1
    }
}

impl fmt::Display for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nr == 1 {
            write!(f, "{:#x}", self.first)
        } else {
            write!(f, "{:#x}-{:#x}", self.first, self.last())
        }
    }
}

fn parse_u64(s: &str, what: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse::<u64>()
    };
    r.map_err(|_| format!("{what} '{s}' is not a number (decimal, or hex with 0x)"))
}

/// A domain id: 0 to 0x7fef (ids from `DOMID_FIRST_RESERVED` on are not
/// domains).
pub fn parse_domid(s: &str) -> Result<u16, String> {
    let v = parse_u64(s, "domain id")?;
    if v >= u64::from(abi::DOMID_FIRST_RESERVED) {
        return Err(format!(
            "domain id {s} is not a domain: ids go from 0 to {:#x}",
            abi::DOMID_FIRST_RESERVED - 1
        ));
    }
    Ok(v as u16)
}

/// `GFN`, `FIRST-LAST` (inclusive) or `FIRST+COUNT`.
pub fn parse_frames(s: &str) -> Result<Frames, String> {
    let (first, nr) = if let Some((a, b)) = s.split_once('+') {
        (parse_u64(a, "frame")?, parse_u64(b, "frame count")?)
    } else if let Some((a, b)) = s.split_once('-') {
        let first = parse_u64(a, "frame")?;
        let last = parse_u64(b, "frame")?;
        if last < first {
            return Err(format!("frame range '{s}' ends before it starts"));
        }
        (first, last - first + 1)
    } else {
        (parse_u64(s, "frame")?, 1)
    };
    if nr == 0 {
        return Err(format!(
            "frame range '{s}' is empty: the count must be at least 1"
        ));
    }
    if nr > abi::MAX_WATCH_FRAMES {
        return Err(format!(
            "frame range '{s}' has {nr} frames; a watch covers at most {} (2^20)",
            abi::MAX_WATCH_FRAMES
        ));
    }
    // Guest frames are at most 52 - 12 = 40 bits on x86-64.
    const MAX_GFN: u64 = (1 << 40) - 1;
    match first.checked_add(nr - 1) {
        Some(last) if last <= MAX_GFN => Ok(Frames { first, nr }),
        _ => Err(format!(
            "frame range '{s}' goes past the largest possible frame {MAX_GFN:#x}"
        )),
    }
}

/// An access mask: any of `r`, `w`, `x`, each at most once.
pub fn parse_access(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err("access mask is empty: give one or more of r, w, x".into());
    }
    let mut mask = 0;
    for c in s.chars() {
        let bit = match c {
            'r' => abi::ACCESS_R,
            'w' => abi::ACCESS_W,
            'x' => abi::ACCESS_X,
            _ => {
                return Err(format!(
                    "access mask '{s}' has '{c}': only r (reads), w (writes), x (fetches)"
                ));
            }
        };
        if mask & bit != 0 {
            return Err(format!("access mask '{s}' names '{c}' twice"));
        }
        mask |= bit;
    }
    Ok(mask)
}

/// The letters of an access mask, `rwx` order.
pub fn access_string(mask: u32) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (abi::ACCESS_R, 'r'),
        (abi::ACCESS_W, 'w'),
        (abi::ACCESS_X, 'x'),
    ] {
        if mask & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// A step budget: 0 to 4096.
pub fn parse_steps(s: &str) -> Result<u32, String> {
    let v = parse_u64(s, "step budget")?;
    if v > u64::from(abi::MAX_STEPS) {
        return Err(format!(
            "step budget {v} is above the maximum {}",
            abi::MAX_STEPS
        ));
    }
    Ok(v as u32)
}

/// Records per vCPU ring: a power of two from 16 to 65536.
pub fn parse_ring(s: &str) -> Result<u32, String> {
    let v = parse_u64(s, "ring size")?;
    if v < u64::from(abi::RING_MIN) || v > u64::from(abi::RING_MAX) || !v.is_power_of_two() {
        return Err(format!(
            "ring size {v} is not a power of two from {} to {}",
            abi::RING_MIN,
            abi::RING_MAX
        ));
    }
    Ok(v as u32)
}

/// A vCPU number (Xen allows at most 4096 vCPUs per HVM domain... and
/// checks the real count itself: `EINVAL`).
pub fn parse_vcpu(s: &str) -> Result<u32, String> {
    let v = parse_u64(s, "vCPU")?;
    if v > 0xffff {
        return Err(format!("vCPU {v} is not a vCPU number (0 to 65535)"));
    }
    Ok(v as u32)
}

/// The poll interval of `trace`, in milliseconds: 1 to 60000.
pub fn parse_interval(s: &str) -> Result<u64, String> {
    let v = parse_u64(s, "interval")?;
    if !(1..=60_000).contains(&v) {
        return Err(format!("interval {v} ms is not from 1 to 60000"));
    }
    Ok(v)
}

/// A process id (for `trace --pid`).
pub fn parse_pid(s: &str) -> Result<u32, String> {
    let v = parse_u64(s, "process id")?;
    if v == 0 || v > i32::MAX as u64 {
        return Err(format!("process id {v} is not a process id"));
    }
    Ok(v as u32)
}

/// A record count (for `trace --count`): at least 1.
pub fn parse_count(s: &str) -> Result<u64, String> {
    let v = parse_u64(s, "count")?;
    if v == 0 {
        return Err("count must be at least 1".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domids() {
        assert_eq!(parse_domid("0"), Ok(0));
        assert_eq!(parse_domid("0x7fef"), Ok(0x7fef));
        assert!(parse_domid("0x7ff0").unwrap_err().contains("not a domain"));
        assert!(parse_domid("65535").is_err());
        assert!(parse_domid("-1").unwrap_err().contains("not a number"));
        assert!(parse_domid("dom0").is_err());
        assert!(parse_domid("").is_err());
    }

    #[test]
    fn frame_forms() {
        assert_eq!(
            parse_frames("0x1a0"),
            Ok(Frames {
                first: 0x1a0,
                nr: 1
            })
        );
        assert_eq!(
            parse_frames("0x1a0-0x1a3"),
            Ok(Frames {
                first: 0x1a0,
                nr: 4
            })
        );
        assert_eq!(
            parse_frames("416+4"),
            Ok(Frames {
                first: 0x1a0,
                nr: 4
            })
        );
        assert_eq!(
            parse_frames("0x1a0-0x1a0"),
            Ok(Frames {
                first: 0x1a0,
                nr: 1
            })
        );
        assert_eq!(
            Frames {
                first: 0x1a0,
                nr: 4
            }
            .to_string(),
            "0x1a0-0x1a3"
        );
        assert_eq!(
            Frames {
                first: 0x1a0,
                nr: 1
            }
            .to_string(),
            "0x1a0"
        );
    }

    #[test]
    fn bad_frames() {
        assert!(
            parse_frames("0x1a3-0x1a0")
                .unwrap_err()
                .contains("ends before")
        );
        assert!(parse_frames("0x1a0+0").unwrap_err().contains("empty"));
        assert!(parse_frames("0+0x100001").unwrap_err().contains("at most"));
        assert!(parse_frames("0-0xfffff").is_ok());
        assert!(parse_frames("0-0x100000").is_err());
        assert!(
            parse_frames("0xffffffffff+2")
                .unwrap_err()
                .contains("largest")
        );
        assert!(parse_frames("0xffffffffffffffff+2").is_err());
        assert!(parse_frames("zz").unwrap_err().contains("not a number"));
        assert!(parse_frames("").is_err());
        assert!(parse_frames("1-").is_err());
    }

    #[test]
    fn access_masks() {
        assert_eq!(parse_access("r"), Ok(abi::ACCESS_R));
        assert_eq!(parse_access("wr"), Ok(abi::ACCESS_R | abi::ACCESS_W));
        assert_eq!(parse_access("rwx"), Ok(7));
        assert!(parse_access("").unwrap_err().contains("empty"));
        assert!(parse_access("rr").unwrap_err().contains("twice"));
        assert!(parse_access("rq").unwrap_err().contains("'q'"));
        assert_eq!(access_string(7), "rwx");
        assert_eq!(access_string(abi::ACCESS_W), "w");
    }

    #[test]
    fn steps_ring_vcpu_interval_pid_count() {
        assert_eq!(parse_steps("0"), Ok(0));
        assert_eq!(parse_steps("4096"), Ok(4096));
        assert!(parse_steps("4097").unwrap_err().contains("maximum"));
        assert!(parse_steps("x").is_err());
        assert_eq!(parse_ring("16"), Ok(16));
        assert_eq!(parse_ring("65536"), Ok(65536));
        for bad in ["0", "8", "100", "131072", "-4"] {
            assert!(parse_ring(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_vcpu("3"), Ok(3));
        assert!(parse_vcpu("65536").is_err());
        assert_eq!(parse_interval("100"), Ok(100));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("60001").is_err());
        assert_eq!(parse_pid("1"), Ok(1));
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("4294967295").is_err());
        assert_eq!(parse_count("5"), Ok(5));
        assert!(parse_count("0").is_err());
    }
}
