//! Another domain's frames, mapped through Xen's own libxenforeignmemory
//! (`xenforeignmemory_map`), as Xen's tools map them.

use std::ffi::{c_int, c_uint, c_void};

#[repr(C)]
struct XenforeignmemoryHandle {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn xenforeignmemory_open(
        logger: *mut c_void,
        open_flags: c_uint,
    ) -> *mut XenforeignmemoryHandle;
    fn xenforeignmemory_close(fmem: *mut XenforeignmemoryHandle) -> c_int;
    fn xenforeignmemory_map(
        fmem: *mut XenforeignmemoryHandle,
        dom: u32,
        prot: c_int,
        pages: usize,
        arr: *const u64,
        err: *mut c_int,
    ) -> *mut c_void;
    fn xenforeignmemory_unmap(
        fmem: *mut XenforeignmemoryHandle,
        addr: *mut c_void,
        pages: usize,
    ) -> c_int;
}

const PAGE: usize = 4096;

/// An open libxenforeignmemory handle.
pub struct ForeignMemory(*mut XenforeignmemoryHandle);

impl ForeignMemory {
    /// Opens the library's handle (`/dev/xen/privcmd` underneath); the
    /// errno on failure.
    pub fn open() -> Result<ForeignMemory, i32> {
        // SAFETY: a NULL logger makes the library log to stderr; flags 0.
        let h = unsafe { xenforeignmemory_open(std::ptr::null_mut(), 0) };
        if h.is_null() {
            Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO))
        } else {
            Ok(ForeignMemory(h))
        }
    }

    /// A copy of frame `gfn` of domain `dom`, or the errno (`-err` of the
    /// frame, or the map's own).  Xen refuses a domain its own frames.
    pub fn read_frame(&self, dom: u16, gfn: u64) -> Result<Vec<u8>, i32> {
        let arr = [gfn];
        let mut err: [c_int; 1] = [0];
        // SAFETY: the handle is open; arr and err hold one entry each.
        let p = unsafe {
            xenforeignmemory_map(
                self.0,
                u32::from(dom),
                libc::PROT_READ,
                1,
                arr.as_ptr(),
                err.as_mut_ptr(),
            )
        };
        if p.is_null() {
            return Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO));
        }
        let r = if err[0] != 0 {
            Err(-err[0])
        } else {
            // SAFETY: the library mapped one readable page at p.
            Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), PAGE) }.to_vec())
        };
        // SAFETY: unmapping the one page mapped above.
        unsafe { xenforeignmemory_unmap(self.0, p, 1) };
        r
    }
}

impl Drop for ForeignMemory {
    fn drop(&mut self) {
        // SAFETY: closing the handle open() gave, once.
        unsafe { xenforeignmemory_close(self.0) };
    }
}
