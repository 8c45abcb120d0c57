//! Sleeping until Xen signals that trace records wait: the event channel
//! `XEN_DOMCTL_RSHADOW_OP_NOTIFY` gives, bound through Xen's own
//! libxenevtchn (`/dev/xen/evtchn`), as vm_event's readers bind theirs.

use std::ffi::{c_int, c_uint, c_void};
use std::time::Duration;

#[repr(C)]
struct XenevtchnHandle {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn xenevtchn_open(logger: *mut c_void, open_flags: c_uint) -> *mut XenevtchnHandle;
    fn xenevtchn_close(xce: *mut XenevtchnHandle) -> c_int;
    fn xenevtchn_fd(xce: *mut XenevtchnHandle) -> c_int;
    fn xenevtchn_bind_interdomain(xce: *mut XenevtchnHandle, domid: u32, remote_port: u32)
    -> c_int;
    fn xenevtchn_pending(xce: *mut XenevtchnHandle) -> c_int;
    fn xenevtchn_unmask(xce: *mut XenevtchnHandle, port: u32) -> c_int;
}

/// A bound event channel: this domain's end of the traced domain's port.
pub struct Channel {
    xce: *mut XenevtchnHandle,
    local: u32,
}

impl Channel {
    /// Binds `port`, Xen's end in domain `dom`; the errno on failure (a
    /// port another reader has bound already gives EINVAL or EBUSY).
    pub fn bind(dom: u16, port: u32) -> Result<Channel, i32> {
        // SAFETY: no logger (NULL), no flags; returns NULL or a handle.
        let xce = unsafe { xenevtchn_open(std::ptr::null_mut(), 0) };
        if xce.is_null() {
            return Err(errno());
        }
        // SAFETY: xce is the live handle opened above.
        let local = unsafe { xenevtchn_bind_interdomain(xce, u32::from(dom), port) };
        if local < 0 {
            let e = errno();
            // SAFETY: as above; closed once, here.
            unsafe { xenevtchn_close(xce) };
            return Err(e);
        }
        Ok(Channel {
            xce,
            local: local as u32,
        })
    }

    /// Waits at most `timeout` for a signal; true if one came (it is
    /// consumed and the port unmasked for the next).  A signal handler's
    /// interruption (Ctrl-C) ends the wait early, with false.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            // SAFETY: the live handle.
            fd: unsafe { xenevtchn_fd(self.xce) },
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: one pollfd, valid for the call.
        let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        if n <= 0 || pfd.revents & libc::POLLIN == 0 {
            return false;
        }
        // SAFETY: the live handle.
        let port = unsafe { xenevtchn_pending(self.xce) };
        if port >= 0 {
            // SAFETY: the live handle and a port it reported.
            unsafe { xenevtchn_unmask(self.xce, port as u32) };
        }
        true
    }

    /// This domain's end of the channel.
    pub fn local_port(&self) -> u32 {
        self.local
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // SAFETY: the live handle, closed once; closing unbinds the port,
        // which Xen's end then waits unbound for the next reader.
        unsafe { xenevtchn_close(self.xce) };
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}
