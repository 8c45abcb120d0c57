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

/// The running vCPU's address space: its guest's CR3, masked by Xen as the
/// paging mode defines it (PCID and flag bits off); 0 with paging off.
/// Xen masks it: that is a few loads it has at hand, where the module
/// would need the paging mode passed out and back on every record.
pub fn guest_cr3() -> u64 {
    // SAFETY: a leaf call with no arguments and no side effects.
    unsafe { bindings::rshadow_xen_guest_cr3() }
}

/// Ends in Xen's `panic()`.
pub fn panic(msg: &str) -> ! {
    // SAFETY: `msg` is a live string; Xen prints `len` bytes and never
    // returns.
    unsafe { bindings::rshadow_xen_panic(msg.as_ptr().cast(), msg.len()) }
}
