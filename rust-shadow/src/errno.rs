//! Error numbers the module returns to Xen, which passes them (negated) to
//! the caller of the control interface.  Values are Xen's public errno.h.
//!
//! Each bad control input has one documented errno; `README.md` lists which
//! input gets which.

/// An error the control interface reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Errno {
    /// Operation not permitted.
    Perm = 1,
    /// No such watch.
    NoEnt = 2,
    /// No such domain.
    Srch = 3,
    /// rust-shadow is not enabled for the domain.
    Nxio = 6,
    /// A count or size is larger than allowed.
    TooBig = 7,
    /// The caller was written for another version of the interface.
    Acces = 13,
    /// A buffer the caller passed cannot be written or is misaligned.
    Fault = 14,
    /// Frames already watched, or a reader is already busy.
    Busy = 16,
    /// Already enabled.
    Exist = 17,
    /// The domain is not an HVM domain.
    NoDev = 19,
    /// A malformed request: bad field, flag, access mask or zero count.
    Inval = 22,
    /// The watch table is full.
    NoSpc = 28,
    /// A frame beyond the domain's memory.
    Range = 34,
    /// Unknown operation.
    NoSys = 38,
    /// The domain uses hardware-assisted paging, or stepping is unavailable.
    OpNotSupp = 95,
    /// A frame that is not ordinary RAM.
    AddrNotAvail = 99,
}

impl Errno {
    /// The value Xen returns: the errno, negated.
    pub const fn to_ret(self) -> i32 {
        0i32.wrapping_sub(self as i32)
    }
}

/// Result of a control operation.
pub type CtlResult<T = ()> = Result<T, Errno>;
