//! A fixed-size, allocation-free line builder for Xen's console.
//!
//! `core::fmt` is avoided on purpose: it dispatches through trait objects and
//! carries panic paths of its own, neither of which belongs in hypervisor
//! code that must be provably panic-free.  Text that does not fit is cut off.

/// Longest line the module prints, without Xen's prefix.
pub const LINE_MAX: usize = 160;

/// A console line under construction.
pub struct LogLine {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Default for LogLine {
    fn default() -> Self {
        Self::new()
    }
}

impl LogLine {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            buf: [0; LINE_MAX],
            len: 0,
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Appends one byte, or drops it if the line is full.
    pub fn byte(&mut self, b: u8) -> &mut Self {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len = self.len.saturating_add(1);
        }
        self
    }

    /// Appends a string, truncating at the line's end.
    pub fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        self
    }

    /// Appends an unsigned decimal number.
    pub fn dec(&mut self, mut v: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = 0usize;
        loop {
            if let Some(d) = digits.get_mut(n) {
                // `v % 10` is below 10, so the sum stays an ASCII digit.
                *d = b'0'.wrapping_add((v % 10) as u8);
            }
            n = n.saturating_add(1);
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            if let Some(&d) = digits.get(i) {
                self.byte(d);
            }
        }
        self
    }

    /// Appends `0x` and a lower-case hexadecimal number, no leading zeros.
    pub fn hex(&mut self, v: u64) -> &mut Self {
        self.str("0x");
        let nibbles = (64u32.saturating_sub(v.leading_zeros()).div_ceil(4)).max(1);
        for i in (0..nibbles).rev() {
            let nib = (v >> i.wrapping_mul(4)) & 0xf;
            if let Some(&c) = b"0123456789abcdef".get(nib as usize) {
                self.byte(c);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    use super::*;

    fn text(l: &LogLine) -> &str {
        core::str::from_utf8(l.as_bytes()).unwrap_or("<bad utf8>")
    }

    #[test]
    fn numbers() {
        let mut l = LogLine::new();
        l.dec(0)
            .byte(b' ')
            .dec(u64::MAX)
            .byte(b' ')
            .hex(0)
            .byte(b' ');
        l.hex(0xffff_82d0_4000_0000);
        assert_eq!(text(&l), "0 18446744073709551615 0x0 0xffff82d040000000");
    }

    #[test]
    fn truncates_without_overflow() {
        let mut l = LogLine::new();
        for _ in 0..LINE_MAX {
            l.str("ab");
        }
        assert_eq!(l.as_bytes().len(), LINE_MAX);
        l.dec(12345).hex(1);
        assert_eq!(l.as_bytes().len(), LINE_MAX);
    }
}
