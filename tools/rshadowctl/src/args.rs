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

/// A domain as `xl` names it: a domain id, or (not starting with a digit)
/// the name the toolstack gave it, looked up in xenstore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domain {
    Id(u16),
    Name(String),
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Id(id) => write!(f, "{id}"),
            Domain::Name(n) => write!(f, "'{n}'"),
        }
    }
}

/// A domain id (decimal or 0x-hex), or a domain name: 1 to 64 printable
/// characters, not starting with a digit, with no '/' (a xenstore path
/// separator).
pub fn parse_domain(s: &str) -> Result<Domain, String> {
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return parse_domid(s).map(Domain::Id);
    }
    if s.is_empty() || s.len() > 64 || s.contains('/') || s.chars().any(|c| c.is_control()) {
        return Err(format!(
            "domain '{s}' is neither a domain id nor a domain name (1-64 printable \
             characters, no '/')"
        ));
    }
    Ok(Domain::Name(s.to_string()))
}

/// A guest virtual address: canonical for 57-bit (5-level) paging or
/// narrower, so any address a guest could use.
pub fn parse_va(s: &str) -> Result<u64, String> {
    let v = parse_u64(s, "virtual address")?;
    let top = (v as i64) >> 56;
    if top != 0 && top != -1 {
        return Err(format!("virtual address {v:#x} is not canonical"));
    }
    Ok(v)
}

/// A CR3 value: the page-table base (bits 12-51) with, where the guest
/// uses them, PCID (bits 0-11) and the no-flush bit 63, both ignored.
pub fn parse_cr3(s: &str) -> Result<u64, String> {
    let v = parse_u64(s, "CR3")?;
    if v & 0x7ff0_0000_0000_0000 != 0 {
        return Err(format!(
            "CR3 {v:#x} has bits set between 52 and 62, which no CR3 has"
        ));
    }
    Ok(v)
}

/// `watch`'s and `unwatch`'s positional arguments, told apart by their
/// first character: frames start with a digit, an access mask with a letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchArg {
    Frames(Frames),
    Access(u32),
}

pub fn parse_watch_arg(s: &str) -> Result<WatchArg, String> {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        parse_frames(s).map(WatchArg::Frames)
    } else {
        parse_access(s).map(WatchArg::Access)
    }
}

/// An address to resolve to a frame: a virtual address in the address
/// space at `cr3`, or in the address space of the guest's process `pid`
/// (found in its kernel's task list), or a kernel symbol (from
/// `--symbols`) in the address space at `cr3`, vCPU 0's current one by
/// default (every address space maps the kernel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Va { va: u64, cr3: u64 },
    Pid { va: u64, pid: u32 },
    Ksym { name: String, cr3: Option<u64> },
}

impl Address {
    /// The address named by `--va`/`--ksym`/`--cr3`/`--pid`, if any; the
    /// error says what is missing.
    pub fn from_options(
        va: Option<u64>,
        ksym: Option<&str>,
        cr3: Option<u64>,
        pid: Option<u32>,
    ) -> Result<Option<Address>, String> {
        match (va, ksym, cr3, pid) {
            (_, _, Some(_), Some(_)) => {
                Err("give --cr3 or --pid, not both: --pid finds the process's CR3 itself".into())
            }
            (_, Some(_), _, Some(_)) => {
                Err("--pid goes with --va: a kernel symbol (--ksym) is in every process".into())
            }
            (Some(_), Some(_), _, _) => Err("give --va or --ksym, not both".into()),
            (Some(va), None, Some(cr3), None) => Ok(Some(Address::Va { va, cr3 })),
            (Some(va), None, None, Some(pid)) => Ok(Some(Address::Pid { va, pid })),
            (Some(_), None, None, None) => Err(
                "--va needs --cr3 or --pid: an address means nothing without its address space"
                    .into(),
            ),
            (None, Some(name), cr3, None) => Ok(Some(Address::Ksym {
                name: name.to_string(),
                cr3,
            })),
            (None, None, Some(_), None) => Err("--cr3 goes with --va or --ksym".into()),
            (None, None, None, Some(_)) => Err("--pid goes with --va".into()),
            (None, None, None, None) => Ok(None),
        }
    }
}

/// What `watch` watches: frames given as numbers, or the page of an
/// address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchTarget {
    Frames(Frames),
    Address(Address),
}

/// The frames (or the address) and the access mask from `watch`'s
/// positionals and options: `FRAMES [ACCESS]`, or `[ACCESS]` with an
/// address.  The mask defaults to `rw`.
pub fn watch_target(pos: &[WatchArg], at: Option<Address>) -> Result<(WatchTarget, u32), String> {
    let default = abi::ACCESS_R | abi::ACCESS_W;
    match (pos, at) {
        ([WatchArg::Frames(f)], None) => Ok((WatchTarget::Frames(*f), default)),
        ([WatchArg::Frames(f), WatchArg::Access(a)], None) => Ok((WatchTarget::Frames(*f), *a)),
        ([], Some(at)) => Ok((WatchTarget::Address(at), default)),
        ([WatchArg::Access(a)], Some(at)) => Ok((WatchTarget::Address(at), *a)),
        ([WatchArg::Frames(_), ..], Some(_)) => {
            Err("give frames or an address (--va, --ksym), not both".into())
        }
        ([], None) | ([WatchArg::Access(_)], None) => Err(
            "say what to watch: frames (GFN, FIRST-LAST, FIRST+COUNT), --va ADDR --cr3 CR3, \
             --va ADDR --pid PID, or --ksym NAME --symbols FILE"
                .into(),
        ),
        _ => Err("the arguments are FRAMES [ACCESS], or [ACCESS] with --va or --ksym".into()),
    }
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

/// A process id (for `trace --pid`, and a guest's process for `--va`).
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
    fn domains_by_id_or_name() {
        assert_eq!(parse_domain("3"), Ok(Domain::Id(3)));
        assert_eq!(parse_domain("0x10"), Ok(Domain::Id(16)));
        assert_eq!(parse_domain("target"), Ok(Domain::Name("target".into())));
        assert_eq!(
            parse_domain("Domain-0"),
            Ok(Domain::Name("Domain-0".into()))
        );
        assert!(parse_domain("3x").is_err());
        assert!(parse_domain("-1").is_err());
        assert!(parse_domain("").is_err());
        assert!(parse_domain("a/b").is_err());
        assert!(parse_domain("a\nb").is_err());
        assert!(parse_domain(&"n".repeat(65)).is_err());
    }

    #[test]
    fn addresses_and_cr3() {
        assert_eq!(parse_va("0x7e5700000000"), Ok(0x7e57_0000_0000));
        assert_eq!(parse_va("0xffffffff81000000"), Ok(0xffff_ffff_8100_0000));
        assert!(
            parse_va("0x0100000000000000")
                .unwrap_err()
                .contains("canonical")
        );
        assert_eq!(parse_cr3("0x8000000012345001"), Ok(0x8000_0000_1234_5001));
        assert!(parse_cr3("0x0010000000000000").unwrap_err().contains("52"));
    }

    #[test]
    fn watch_positionals() {
        let f = Frames { first: 0x10, nr: 1 };
        let fr = WatchArg::Frames(f);
        let w = WatchArg::Access(abi::ACCESS_W);
        assert_eq!(parse_watch_arg("0x10"), Ok(fr));
        assert_eq!(parse_watch_arg("w"), Ok(w));
        assert!(parse_watch_arg("q").is_err());
        assert_eq!(watch_target(&[fr], None), Ok((WatchTarget::Frames(f), 3)));
        assert_eq!(
            watch_target(&[fr, w], None),
            Ok((WatchTarget::Frames(f), 2))
        );
        let va = Address::Va {
            va: 0x1000,
            cr3: 0x2000,
        };
        let at = || Some(va.clone());
        assert_eq!(
            watch_target(&[], at()),
            Ok((WatchTarget::Address(va.clone()), 3))
        );
        assert_eq!(
            watch_target(&[w], at()),
            Ok((WatchTarget::Address(va.clone()), 2))
        );
        for (pos, a) in [
            (&[][..], None),
            (&[w][..], None),
            (&[fr][..], at()),
            (&[w, w][..], at()),
            (&[w, fr][..], None),
            (&[fr, fr][..], None),
        ] {
            assert!(watch_target(pos, a.clone()).is_err(), "{pos:?} {a:?}");
        }
    }

    #[test]
    fn addresses_from_options() {
        assert_eq!(
            Address::from_options(Some(1), None, Some(2), None),
            Ok(Some(Address::Va { va: 1, cr3: 2 }))
        );
        assert_eq!(
            Address::from_options(Some(1), None, None, Some(7)),
            Ok(Some(Address::Pid { va: 1, pid: 7 }))
        );
        assert_eq!(
            Address::from_options(None, Some("jiffies"), None, None),
            Ok(Some(Address::Ksym {
                name: "jiffies".into(),
                cr3: None
            }))
        );
        assert_eq!(Address::from_options(None, None, None, None), Ok(None));
        assert!(Address::from_options(Some(1), None, None, None).is_err());
        assert!(Address::from_options(Some(1), Some("x"), Some(2), None).is_err());
        assert!(Address::from_options(None, None, Some(2), None).is_err());
        // --pid: with --va only
        assert!(
            Address::from_options(Some(1), None, Some(2), Some(7))
                .unwrap_err()
                .contains("not both")
        );
        assert!(Address::from_options(None, Some("x"), None, Some(7)).is_err());
        assert!(Address::from_options(None, None, None, Some(7)).is_err());
    }

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
