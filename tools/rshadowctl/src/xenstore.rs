//! Domain names, read from xenstore through Xen's own libxenstore
//! (`xs_open`, `xs_directory`, `xs_read`): the toolstack keeps each
//! domain's name at `/local/domain/<domid>/name`, as `xl list` shows it.

use std::ffi::{CStr, CString, c_char, c_uint, c_ulong, c_void};

#[repr(C)]
struct XsHandle {
    _opaque: [u8; 0],
}

/// `XBT_NULL`: no transaction.
const XBT_NULL: u32 = 0;
/// `XS_OPEN_READONLY`.
const XS_OPEN_READONLY: c_ulong = 1;

unsafe extern "C" {
    fn xs_open(flags: c_ulong) -> *mut XsHandle;
    fn xs_close(h: *mut XsHandle);
    fn xs_directory(
        h: *mut XsHandle,
        t: u32,
        path: *const c_char,
        num: *mut c_uint,
    ) -> *mut *mut c_char;
    fn xs_read(h: *mut XsHandle, t: u32, path: *const c_char, len: *mut c_uint) -> *mut c_void;
}

/// A read-only connection to xenstore (xenstored's socket, else
/// `/dev/xen/xenbus`).
pub struct Xenstore(*mut XsHandle);

impl Xenstore {
    /// `None` when there is no xenstore to talk to (no xenstored, not a
    /// Xen domain, not root).
    pub fn open() -> Option<Xenstore> {
        // SAFETY: xs_open takes flags and returns a handle or NULL.
        let h = unsafe { xs_open(XS_OPEN_READONLY) };
        (!h.is_null()).then_some(Xenstore(h))
    }

    /// The entries of the directory at `path`, or `None`.
    pub fn directory(&self, path: &str) -> Option<Vec<String>> {
        let p = CString::new(path).ok()?;
        let mut n: c_uint = 0;
        // SAFETY: the handle is open, p is a C string, n is written.
        let v = unsafe { xs_directory(self.0, XBT_NULL, p.as_ptr(), &mut n) };
        if v.is_null() {
            return None;
        }
        let out = (0..n as usize)
            .map(|i| {
                // SAFETY: xs_directory returns n pointers to C strings, all
                // inside the one allocation v.
                unsafe { CStr::from_ptr(*v.add(i)) }
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        // SAFETY: the array and its strings are one malloc'd block.
        unsafe { libc::free(v.cast()) };
        Some(out)
    }

    /// The value at `path`, or `None`.
    pub fn read(&self, path: &str) -> Option<String> {
        let p = CString::new(path).ok()?;
        let mut len: c_uint = 0;
        // SAFETY: the handle is open, p is a C string, len is written.
        let v = unsafe { xs_read(self.0, XBT_NULL, p.as_ptr(), &mut len) };
        if v.is_null() {
            return None;
        }
        // SAFETY: xs_read returns len bytes (and a NUL after them) in a
        // malloc'd block.
        let s = String::from_utf8_lossy(unsafe {
            std::slice::from_raw_parts(v.cast::<u8>(), len as usize)
        })
        .into_owned();
        // SAFETY: freeing the block xs_read returned.
        unsafe { libc::free(v) };
        Some(s)
    }

    /// Every domain xenstore names: `(domid, name)`.
    pub fn domains(&self) -> Vec<(u16, String)> {
        let mut out: Vec<(u16, String)> = self
            .directory("/local/domain")
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                let id = d.parse::<u16>().ok()?;
                Some((id, self.read(&format!("/local/domain/{id}/name"))?))
            })
            .collect();
        out.sort();
        out
    }
}

impl Drop for Xenstore {
    fn drop(&mut self) {
        // SAFETY: closing the handle xs_open gave, once.
        unsafe { xs_close(self.0) };
    }
}

/// The domain `name` names among `domains`, exactly as `xl` matches it.
pub fn lookup(domains: &[(u16, String)], name: &str) -> Option<u16> {
    domains.iter().find(|(_, n)| n == name).map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_exactly() {
        let d = vec![(0, "Domain-0".to_string()), (3, "target".to_string())];
        assert_eq!(lookup(&d, "target"), Some(3));
        assert_eq!(lookup(&d, "Domain-0"), Some(0));
        assert_eq!(lookup(&d, "targe"), None);
        assert_eq!(lookup(&d, "TARGET"), None);
    }
}
