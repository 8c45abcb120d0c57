//! Safe wrappers around the leaf services Xen implements for the module.
//!
//! These are the only calls from Rust into Xen.  Each is a plain function
//! with no preconditions beyond the pointer/length pairs built here.

use crate::bindings;
use crate::logline::LogLine;

/// Console severity: Xen's `XENLOG_*` levels, plus `Notice` for lines that
/// Xen prints at its default threshold, as it does its own boot messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Level {
    /// Something failed.
    Err = bindings::RSHADOW_LOG_ERR,
    /// Something is suspicious.
    Warning = bindings::RSHADOW_LOG_WARNING,
    /// Normal operation worth a line.
    Info = bindings::RSHADOW_LOG_INFO,
    /// Detail for developers.
    Debug = bindings::RSHADOW_LOG_DEBUG,
    /// Printed with no level prefix.
    Notice = bindings::RSHADOW_LOG_NOTICE,
}

/// Who caused a console line: Xen rate-limits lines a guest caused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Xen itself or the control domain.
    Host,
    /// A guest's action.
    Guest,
}

/// Prints one line on Xen's console.
pub fn log(level: Level, origin: Origin, msg: &[u8]) {
    let guest = match origin {
        Origin::Host => 0,
        Origin::Guest => bindings::RSHADOW_LOG_GUEST,
    };
    // SAFETY: `msg` is a live slice; Xen reads exactly `len` bytes from it
    // during the call and keeps no reference.
    unsafe { bindings::rshadow_xen_log(level as u32 | guest, msg.as_ptr().cast(), msg.len()) }
}

/// Prints a line built with [`LogLine`], on the host's behalf.
pub fn log_line(level: Level, line: &LogLine) {
    log(level, Origin::Host, line.as_bytes());
}

/// Xen's system time in nanoseconds (`NOW()`).
pub fn now() -> u64 {
    // SAFETY: a leaf call with no arguments and no side effects.
    unsafe { bindings::rshadow_xen_now() }
}

/// The running vCPU's address space: its guest's CR3 with the bits that
/// are not the top-level table's address masked (PCID, PWT, PCD); 0 with
/// paging off, where there is none.
///
/// The mask follows the paging mode: a 4-level or 2-level CR3 holds a
/// 4 KiB-aligned table (bits 0-11 are flags or the PCID), a PAE CR3 a
/// 32-byte-aligned PDPT (bits 0-4 are flags).  Bits above 51, which no
/// CR3 holds, are masked too.
pub fn guest_cr3() -> u64 {
    let mut levels = 0u32;
    // SAFETY: a leaf call that writes one u32 through a live reference.
    let cr3 = unsafe { bindings::rshadow_xen_guest_cr3(&raw mut levels) };
    cr3_mask(cr3, levels)
}

/// See [`guest_cr3`].
pub const fn cr3_mask(cr3: u64, levels: u32) -> u64 {
    const ADDR: u64 = (1 << 52) - 1;
    match levels {
        3 => cr3 & 0xffff_ffe0,
        2 => cr3 & 0xffff_f000,
        4 => cr3 & ADDR & !0xfff,
        _ => 0,
    }
}

/// Ends in Xen's `panic()`.
pub fn panic(msg: &str) -> ! {
    // SAFETY: `msg` is a live string; Xen prints `len` bytes and never
    // returns.
    unsafe { bindings::rshadow_xen_panic(msg.as_ptr().cast(), msg.len()) }
}
