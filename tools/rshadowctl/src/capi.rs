//! The C API: rust-shadow's control interface for C programs, as
//! `include/rshadowctl.h` declares it (generated from this file by
//! cbindgen; the `c_header_is_current` test fails when they differ).
//!
//! Conventions, as in Xen's own libraries: functions return 0 (or a
//! count) on success and a negative errno on failure, the errno Xen or
//! Linux gave; a handle is used by one thread at a time; nothing panics
//! across the boundary (a panic aborts, as the library is built with
//! `panic = "abort"` in release).

use crate::abi::{self, Record};
use crate::xen::Xen;
use std::ffi::{CStr, c_char};

/// An open connection to the hypervisor (`/dev/xen/privcmd` and a
/// hypercall buffer).
pub struct RshadowctlHandle {
    xen: Xen,
    /// The event channel of [`rshadowctl_notify`], once bound.
    channel: Option<crate::evtchn::Channel>,
}

/// One trace record: `struct xen_rshadow_record` of the patched Xen's
/// public `domctl.h` (rust-shadow interface version 2), 72 bytes.  C
/// tools see it here because Debian's `xen/domctl.h` is Xen's unpatched
/// one; its layout is checked at compile time against the structure
/// bindgen made of the patched header, field by field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CRecord {
    /// Per-vCPU sequence number; gaps are records dropped.
    pub seq: u64,
    /// Xen's system time, ns.
    pub time: u64,
    /// The instruction: emulated, or stepped.
    pub rip: u64,
    /// Access: linear address; step: the next instruction.
    pub linear: u64,
    /// Access: guest frame.
    pub gfn: u64,
    /// Access: the value, if `RSHADOWCTL_REC_VALUE` is in `flags`.
    pub value: u64,
    /// RFLAGS after the access or step.
    pub rflags: u64,
    /// The address space: the guest's CR3, PCID and flag bits masked.
    pub cr3: u64,
    pub vcpu: u16,
    /// An `RshadowctlRecKind`.
    pub kind: u8,
    /// Access size in bytes.
    pub size: u8,
    /// CPU mode, CPL in bits 4-5.
    pub mode: u8,
    pub flags: u8,
    /// Step: index in its window; error: its reason.
    pub extra: u16,
}

/// The record as C sees it: `RshadowctlRecord` (also `rshadowctl_record`).
pub type RshadowctlRecord = CRecord;

macro_rules! same_layout {
    ($($f:ident),*) => {
        const _: () = {
            use std::mem::{offset_of, size_of};
            assert!(size_of::<RshadowctlRecord>() == size_of::<Record>());
            $(assert!(offset_of!(RshadowctlRecord, $f) == offset_of!(Record, $f));)*
        };
        impl From<Record> for RshadowctlRecord {
            fn from(r: Record) -> Self {
                RshadowctlRecord { $($f: r.$f),* }
            }
        }
    };
}
same_layout!(
    seq, time, rip, linear, gfn, value, rflags, cr3, vcpu, kind, size, mode, flags, extra
);

/// Access bits for [`rshadowctl_watch`], OR-ed.
#[repr(u32)]
pub enum RshadowctlAccess {
    RshadowctlAccessR = 1,
    RshadowctlAccessW = 2,
    RshadowctlAccessX = 4,
}

/// The values of a record's `kind`.
#[repr(u8)]
pub enum RshadowctlRecKind {
    RshadowctlRecRead = 1,
    RshadowctlRecWrite = 2,
    RshadowctlRecRmw = 3,
    RshadowctlRecExec = 4,
    RshadowctlRecStep = 5,
    RshadowctlRecError = 6,
    RshadowctlRecYield = 7,
}

fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// Opens the hypervisor.  Returns NULL with `errno` set on failure
/// (`ENOENT`: no `/dev/xen/privcmd`; `EACCES`: not root; `ENOMEM`: no
/// locked buffer).
#[unsafe(no_mangle)]
pub extern "C" fn rshadowctl_open() -> *mut RshadowctlHandle {
    match Xen::open_errno() {
        Ok(xen) => Box::into_raw(Box::new(RshadowctlHandle { xen, channel: None })),
        Err((_, e)) => {
            set_errno(e);
            std::ptr::null_mut()
        }
    }
}

/// Closes a handle from [`rshadowctl_open`]; NULL is ignored.
///
/// # Safety
/// `h` is NULL or a handle from `rshadowctl_open`, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_close(h: *mut RshadowctlHandle) {
    if !h.is_null() {
        // SAFETY: the caller gives back a handle Box::into_raw made.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// `f` on the handle, or `-EINVAL` for NULL.
///
/// # Safety
/// `h` is NULL or a live handle.
unsafe fn with(h: *mut RshadowctlHandle, f: impl FnOnce(&mut Xen) -> i32) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { h.as_mut() } {
        Some(h) => f(&mut h.xen),
        None => -libc::EINVAL,
    }
}

fn result(r: Result<(), crate::xen::Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => -e.0,
    }
}

/// Turns rust-shadow on for `domid` with `ring` records per vCPU (a power
/// of two, 16-65536).  0, or a negative errno (`-EEXIST`: already on;
/// `-ENODEV`: not HVM/PVH; `-EOPNOTSUPP`: on HAP; `-EINVAL`: bad ring).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_enable(h: *mut RshadowctlHandle, domid: u16, ring: u32) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { with(h, |x| result(x.enable(domid, ring))) }
}

/// Turns rust-shadow off for `domid`.  0, or a negative errno (`-ENXIO`:
/// it was off).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_disable(h: *mut RshadowctlHandle, domid: u16) -> i32 {
    // SAFETY: the caller's contract.
    unsafe { with(h, |x| result(x.simple(domid, abi::Op::Disable))) }
}

/// Watches `nr_frames` frames from `first_gfn` for `access`
/// (`RshadowctlAccess` bits), stepping `steps` instructions (0-4096) after
/// each access.  0, or a negative errno (`-EBUSY`: overlaps a watch;
/// `-ERANGE`: beyond the domain's memory; `-EADDRNOTAVAIL`: not RAM;
/// `-E2BIG`, `-EINVAL`: sizes).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_watch(
    h: *mut RshadowctlHandle,
    domid: u16,
    first_gfn: u64,
    nr_frames: u64,
    access: u32,
    steps: u32,
) -> i32 {
    let w = abi::Watch {
        first_gfn,
        nr_frames,
        access,
        steps,
        flags: 0,
        pad: 0,
    };
    // SAFETY: the caller's contract.
    unsafe { with(h, |x| result(x.watch(domid, abi::Op::AddWatch, w))) }
}

/// Stops watching a range, given exactly as it was watched.  0, or a
/// negative errno (`-ENOENT`: not a watched range).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_unwatch(
    h: *mut RshadowctlHandle,
    domid: u16,
    first_gfn: u64,
    nr_frames: u64,
) -> i32 {
    let w = abi::Watch {
        first_gfn,
        nr_frames,
        ..Default::default()
    };
    // SAFETY: the caller's contract.
    unsafe { with(h, |x| result(x.watch(domid, abi::Op::RemoveWatch, w))) }
}

/// Reads (and consumes) up to `max` records of `vcpu`'s ring into `out`.
/// Returns how many were read (0 when the ring is empty), or a negative
/// errno (`-EINVAL`: no such vCPU; `-ENXIO`: rust-shadow is off).
/// `*lost`, when `lost` is not NULL, is set to the records the ring lost
/// (full) since the last read.
///
/// # Safety
/// `h` is NULL or a live handle; `out` points to `max` writable records;
/// `lost` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_read_trace(
    h: *mut RshadowctlHandle,
    domid: u16,
    vcpu: u32,
    out: *mut RshadowctlRecord,
    max: u32,
    lost: *mut u64,
) -> i32 {
    if out.is_null() || max == 0 {
        return -libc::EINVAL;
    }
    let read = |x: &mut Xen| match x.read_trace(domid, vcpu, max.min(crate::xen::TRACE_BATCH)) {
        Ok((recs, l, _)) => {
            let n = recs.len().min(max as usize);
            for (i, r) in recs.iter().take(n).enumerate() {
                // SAFETY: out has room for max >= n records (the caller's
                // contract).
                unsafe { out.add(i).write(RshadowctlRecord::from(*r)) };
            }
            if !lost.is_null() {
                // SAFETY: lost is writable (the caller's contract).
                unsafe { *lost = l };
            }
            n as i32
        }
        Err(e) => -e.0,
    };
    // SAFETY: the caller's contract.
    unsafe { with(h, read) }
}

/// Asks Xen to signal this handle when `domid`'s records wait (a ring at
/// `threshold` records, 0 for half the ring; or a record `latency_us`
/// old, 0 for 10 ms): binds the domain's `NOTIFY` event channel through
/// libxenevtchn, replacing the handle's previous one.  0, or a negative
/// errno (`-EINVAL` from the bind: another reader holds the channel;
/// `-ENOENT`: no `/dev/xen/evtchn`; Xen's errnos as for the others).
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_notify(
    h: *mut RshadowctlHandle,
    domid: u16,
    threshold: u32,
    latency_us: u32,
) -> i32 {
    // SAFETY: the caller's contract.
    let Some(h) = (unsafe { h.as_mut() }) else {
        return -libc::EINVAL;
    };
    h.channel = None;
    match h.xen.notify(domid, threshold, latency_us) {
        Ok(port) => match crate::evtchn::Channel::bind(domid, port) {
            Ok(c) => {
                h.channel = Some(c);
                0
            }
            Err(e) => -e,
        },
        Err(e) => -e.0,
    }
}

/// Sleeps until Xen signals (after [`rshadowctl_notify`]), at most
/// `timeout_ms`.  1 if signalled, 0 on timeout or a signal handler's
/// interruption, `-EINVAL` without a channel.  Drain every vCPU's ring
/// before waiting: Xen signals for records written after the last signal.
///
/// # Safety
/// `h` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_wait(h: *mut RshadowctlHandle, timeout_ms: u32) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { h.as_mut() }.and_then(|h| h.channel.as_mut()) {
        Some(c) => i32::from(c.wait(std::time::Duration::from_millis(timeout_ms.into()))),
        None => -libc::EINVAL,
    }
}

/// The id of the domain xenstore names `name`, or a negative errno
/// (`-ESRCH`: no such domain; `-ENOENT`: no xenstore; `-EINVAL`: NULL or
/// not UTF-8).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rshadowctl_domid_by_name(name: *const c_char) -> i32 {
    if name.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: the caller's contract.
    let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
        return -libc::EINVAL;
    };
    let Some(xs) = crate::xenstore::Xenstore::open() else {
        return -libc::ENOENT;
    };
    crate::xenstore::lookup(&xs.domains(), name).map_or(-libc::ESRCH, i32::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_enums_are_the_abi_values() {
        use RshadowctlAccess::*;
        use RshadowctlRecKind::*;
        assert_eq!(
            [
                RshadowctlAccessR as u32,
                RshadowctlAccessW as u32,
                RshadowctlAccessX as u32
            ],
            [abi::ACCESS_R, abi::ACCESS_W, abi::ACCESS_X]
        );
        assert_eq!(
            [
                RshadowctlRecRead as u8,
                RshadowctlRecWrite as u8,
                RshadowctlRecRmw as u8,
                RshadowctlRecExec as u8,
                RshadowctlRecStep as u8,
                RshadowctlRecError as u8,
                RshadowctlRecYield as u8
            ],
            [
                abi::REC_READ,
                abi::REC_WRITE,
                abi::REC_RMW,
                abi::REC_EXEC,
                abi::REC_STEP,
                abi::REC_ERROR,
                abi::REC_YIELD
            ]
        );
    }

    #[test]
    fn null_handles_and_buffers_are_einval() {
        // SAFETY: NULL handles are allowed and refused.
        unsafe {
            assert_eq!(
                rshadowctl_enable(std::ptr::null_mut(), 1, 1024),
                -libc::EINVAL
            );
            assert_eq!(rshadowctl_disable(std::ptr::null_mut(), 1), -libc::EINVAL);
            assert_eq!(
                rshadowctl_watch(std::ptr::null_mut(), 1, 0, 1, 2, 0),
                -libc::EINVAL
            );
            assert_eq!(
                rshadowctl_unwatch(std::ptr::null_mut(), 1, 0, 1),
                -libc::EINVAL
            );
            assert_eq!(
                rshadowctl_notify(std::ptr::null_mut(), 1, 0, 0),
                -libc::EINVAL
            );
            assert_eq!(rshadowctl_wait(std::ptr::null_mut(), 0), -libc::EINVAL);
            let mut r = [RshadowctlRecord::default(); 1];
            assert_eq!(
                rshadowctl_read_trace(
                    std::ptr::null_mut(),
                    1,
                    0,
                    r.as_mut_ptr(),
                    1,
                    std::ptr::null_mut()
                ),
                -libc::EINVAL
            );
            assert_eq!(rshadowctl_domid_by_name(std::ptr::null()), -libc::EINVAL);
            rshadowctl_close(std::ptr::null_mut());
        }
    }

    #[test]
    fn open_without_xen_sets_errno() {
        // This host is not a Xen domain: no /dev/xen/privcmd.
        if std::path::Path::new("/dev/xen/privcmd").exists() {
            return;
        }
        let h = rshadowctl_open();
        assert!(h.is_null());
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ENOENT)
        );
    }

    /// include/rshadowctl.h is what cbindgen makes of this crate now
    /// (`RSHADOWCTL_UPDATE_HEADER=1 cargo test -p rshadowctl` rewrites it).
    #[test]
    fn c_header_is_current() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let cfg = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
        let mut out = Vec::new();
        cbindgen::Builder::new()
            .with_crate(dir)
            .with_config(cfg)
            .generate()
            .expect("cbindgen")
            .write(&mut out);
        let path = format!("{dir}/include/rshadowctl.h");
        if std::env::var_os("RSHADOWCTL_UPDATE_HEADER").is_some() {
            std::fs::write(&path, &out).unwrap();
        }
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == out,
            "{path} is stale: RSHADOWCTL_UPDATE_HEADER=1 cargo test -p rshadowctl c_header"
        );
    }
}
