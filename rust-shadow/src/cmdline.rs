//! The `rshadow=` option on Xen's command line: watches on dom0 from boot,
//! with no toolstack.
//!
//! ```text
//! rshadow=List of [ ring:<records>, watch:<gfn>[-<gfn>]:<access>[:<steps>] ]
//! ```
//!
//! `<access>` is any of the letters `r`, `w`, `x`; numbers are decimal or
//! `0x` hexadecimal.  The option becomes an ENABLE request followed by one
//! ADD_WATCH per watch, which Xen then applies through the same checks as
//! the domctl.  A malformed option is refused whole, with a console line
//! naming the item.

use crate::bindings::{self as b, rshadow_ctl};
use crate::logline::LogLine;
use crate::watch::Access;
use crate::xen::{self, Level};

/// Ring size when the option names none.
pub const DEFAULT_RING: u32 = 1024;

/// Why an option was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An item that is not `ring:` or `watch:`, or a malformed one.
    Syntax,
    /// More watches than fit the output.
    TooMany,
}

fn number(s: &[u8]) -> Option<u64> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', rest @ ..] => (rest, 16),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
    }
    Some(v)
}

fn access(s: &[u8]) -> Option<u32> {
    let mut a = Access::empty();
    for &c in s {
        let bit = match c {
            b'r' => Access::READ,
            b'w' => Access::WRITE,
            b'x' => Access::EXEC,
            _ => return None,
        };
        if a.contains(bit) {
            return None;
        }
        a |= bit;
    }
    (!a.is_empty()).then_some(a.bits())
}

/// Splits at the first `sep`.
fn split(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&c| c == sep) {
        Some(i) => (s.get(..i).unwrap_or(&[]), s.get(i.saturating_add(1)..)),
        None => (s, None),
    }
}

fn watch(spec: &[u8]) -> Option<rshadow_ctl> {
    let (range, rest) = split(spec, b':');
    let (acc, steps) = split(rest?, b':');
    let (first, last) = split(range, b'-');
    let first = number(first)?;
    let last = match last {
        Some(l) => number(l)?,
        None => first,
    };
    let steps = match steps {
        Some(s) => u32::try_from(number(s)?).ok()?,
        None => 0,
    };
    Some(rshadow_ctl {
        op: b::RSHADOW_OP_ADD_WATCH,
        first_gfn: first,
        // A reversed range wraps to a huge count, which the checks refuse.
        nr_frames: last.wrapping_sub(first).wrapping_add(1),
        access: access(acc)?,
        steps,
        ..crate::control::REQUEST
    })
}

/// Parses the option into `out`: an ENABLE, then the watches.  Returns how
/// many requests were written.
pub fn parse(opt: &[u8], out: &mut [rshadow_ctl]) -> Result<usize, ParseError> {
    let mut ring = DEFAULT_RING;
    let mut n = 1usize; // out[0] is the ENABLE, filled in last.
    if out.is_empty() {
        return Err(ParseError::TooMany);
    }
    for item in opt.split(|&c| c == b',').filter(|i| !i.is_empty()) {
        let (key, value) = split(item, b':');
        let value = value.ok_or(ParseError::Syntax)?;
        match key {
            b"ring" => {
                ring = number(value)
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or(ParseError::Syntax)?;
            }
            b"watch" => {
                let req = watch(value).ok_or(ParseError::Syntax)?;
                let slot = out.get_mut(n).ok_or(ParseError::TooMany)?;
                *slot = req;
                n = n.saturating_add(1);
            }
            _ => return Err(ParseError::Syntax),
        }
    }
    if let Some(first) = out.first_mut() {
        *first = rshadow_ctl {
            op: b::RSHADOW_OP_ENABLE,
            nr: ring,
            ..crate::control::REQUEST
        };
    }
    Ok(n)
}

/// See `rshadow_cmdline_parse` in the ABI header.
///
/// # Safety
/// `opt` points to `len` readable bytes; `out` to `max` writable requests.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadow_cmdline_parse(
    opt: *const core::ffi::c_char,
    len: usize,
    out: *mut rshadow_ctl,
    max: u32,
) -> i32 {
    if opt.is_null() || out.is_null() {
        return crate::errno::Errno::Inval.to_ret();
    }
    // SAFETY: per the contract.
    let opt = unsafe { core::slice::from_raw_parts(opt.cast::<u8>(), len) };
    // SAFETY: per the contract.
    let out = unsafe { core::slice::from_raw_parts_mut(out, max as usize) };
    match parse(opt, out) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) => {
            let mut l = LogLine::new();
            l.str("rust-shadow: rshadow= option refused: ")
                .str(match e {
                    ParseError::Syntax => {
                        "expected ring:<records> or watch:<gfn>[-<gfn>]:<rwx>[:<steps>]"
                    }
                    ParseError::TooMany => "too many watches",
                });
            xen::log_line(Level::Err, &l);
            crate::errno::Errno::Inval.to_ret()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    fn run(s: &str) -> Result<std::vec::Vec<rshadow_ctl>, ParseError> {
        let mut out = [rshadow_ctl::default(); 4];
        let n = parse(s.as_bytes(), &mut out)?;
        Ok(out[..n].to_vec())
    }

    #[test]
    fn full_option() {
        let r = run("ring:256,watch:0x1a0-0x1a3:rw:8,watch:512:x").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].op, r[0].nr), (b::RSHADOW_OP_ENABLE, 256));
        assert_eq!(
            (r[1].first_gfn, r[1].nr_frames, r[1].access, r[1].steps),
            (0x1a0, 4, 3, 8)
        );
        assert_eq!(
            (r[2].first_gfn, r[2].nr_frames, r[2].access, r[2].steps),
            (512, 1, 4, 0)
        );
    }

    #[test]
    fn defaults_and_empty_items() {
        let r = run(",watch:5:r,,").unwrap();
        assert_eq!(r[0].nr, DEFAULT_RING);
        assert_eq!(r.len(), 2);
        assert_eq!(run("").unwrap().len(), 1);
    }

    #[test]
    fn refusals() {
        for bad in [
            "ring",
            "ring:",
            "ring:x",
            "ring:0x",
            "ring:99999999999",
            "watch:5",
            "watch:5:",
            "watch:5:q",
            "watch:5:rr",
            "watch::r",
            "watch:5-:r",
            "watch:5:r:",
            "watch:5:r:0x1ffffffff",
            "bogus:1",
            "watch:0xfffffffffffffffff:r",
        ] {
            assert_eq!(run(bad), Err(ParseError::Syntax), "{bad}");
        }
        assert_eq!(
            run("watch:1:r,watch:2:r,watch:3:r,watch:4:r"),
            Err(ParseError::TooMany)
        );
    }

    #[test]
    fn reversed_range_is_left_to_the_checks() {
        let r = run("watch:9-3:r").unwrap();
        assert!(r[1].nr_frames > u64::from(b::RSHADOW_MAX_WATCH_FRAMES));
    }
}
