//! The public ABI of `XEN_DOMCTL_rshadow_op`, as in Xen's public `domctl.h`
//! (interface version 0x15) and Linux's `xen/privcmd.h`.  Layouts are
//! checked by the unit tests below against the sizes and offsets the C
//! headers give.

/// `__HYPERVISOR_domctl`.
pub const HYPERVISOR_DOMCTL: u64 = 36;
/// `XEN_DOMCTL_INTERFACE_VERSION` of the patched Xen 4.17.
pub const DOMCTL_INTERFACE_VERSION: u32 = 0x0000_0015;
/// `XEN_DOMCTL_rshadow_op`.
pub const DOMCTL_RSHADOW_OP: u32 = 87;
/// `DOMID_FIRST_RESERVED`: domain ids from here on are not real domains.
pub const DOMID_FIRST_RESERVED: u32 = 0x7ff0;

pub const ACCESS_R: u32 = 1 << 0;
pub const ACCESS_W: u32 = 1 << 1;
pub const ACCESS_X: u32 = 1 << 2;

pub const MAX_WATCHES: u32 = 4096;
pub const MAX_WATCH_FRAMES: u64 = 1 << 20;
pub const MAX_STEPS: u32 = 4096;
pub const RING_MIN: u32 = 16;
pub const RING_MAX: u32 = 65536;

pub const WATCH_DISABLED: u32 = 1 << 0;

pub const REC_READ: u8 = 1;
pub const REC_WRITE: u8 = 2;
pub const REC_RMW: u8 = 3;
pub const REC_EXEC: u8 = 4;
pub const REC_STEP: u8 = 5;
pub const REC_ERROR: u8 = 6;
pub const REC_YIELD: u8 = 7;

pub const MODE_REAL: u8 = 1;
pub const MODE_VM86: u8 = 2;
pub const MODE_PROT16: u8 = 3;
pub const MODE_PROT32: u8 = 4;
pub const MODE_LONG64: u8 = 5;

pub const RECF_VALUE: u8 = 1 << 0;
pub const RECF_STRADDLE: u8 = 1 << 1;
pub const RECF_FAILED: u8 = 1 << 2;
pub const RECF_EMULATED: u8 = 1 << 3;
pub const RECF_NATIVE: u8 = 1 << 4;

pub const ERR_UNHANDLEABLE: u16 = 1;
pub const ERR_EVENT: u16 = 2;
pub const ERR_EXCEPTION: u16 = 3;
pub const ERR_BREAKPOINT: u16 = 4;

/// `XEN_DOMCTL_RSHADOW_OP_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    Enable = 1,
    Disable = 2,
    AddWatch = 3,
    RemoveWatch = 4,
    ListWatches = 5,
    ReadTrace = 6,
    GetStats = 7,
    Reset = 8,
}

/// `struct xen_rshadow_watch`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    pub first_gfn: u64,
    pub nr_frames: u64,
    pub access: u32,
    pub steps: u32,
    pub flags: u32,
    pub pad: u32,
}

/// `struct xen_rshadow_record`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub time: u64,
    pub rip: u64,
    pub linear: u64,
    pub gfn: u64,
    pub value: u64,
    pub rflags: u64,
    pub vcpu: u16,
    pub kind: u8,
    pub size: u8,
    pub mode: u8,
    pub flags: u8,
    pub extra: u16,
}

impl Record {
    /// The privilege level the instruction ran at.
    pub fn cpl(&self) -> u8 {
        (self.mode >> 4) & 3
    }
    /// A data access or an instruction fetch: the records that open a
    /// stepping window.
    pub fn is_access(&self) -> bool {
        matches!(self.kind, REC_READ | REC_WRITE | REC_RMW | REC_EXEC)
    }
}

/// `struct xen_rshadow_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub watched_faults: u64,
    pub emulated: u64,
    pub records: u64,
    pub dropped: u64,
    pub steps: u64,
    pub errors: u64,
    pub watches: u64,
    pub watched_frames: u64,
    pub fast_faults: u64,
    pub continuations: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EnableArgs {
    pub ring_records: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ListArgs {
    pub buf: u64,
    pub nr: u32,
    pub start: u32,
    pub total: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceArgs {
    pub buf: u64,
    pub vcpu: u32,
    pub nr: u32,
    pub lost: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union RshadowUnion {
    pub enable: EnableArgs,
    pub watch: Watch,
    pub list: ListArgs,
    pub trace: TraceArgs,
    pub stats: Stats,
}

/// `struct xen_domctl_rshadow_op`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RshadowOp {
    pub op: u32,
    pub flags: u32,
    pub u: RshadowUnion,
}

impl RshadowOp {
    pub fn new(op: Op) -> Self {
        RshadowOp {
            op: op as u32,
            flags: 0,
            u: RshadowUnion {
                stats: Stats::default(),
            },
        }
    }
}

/// `struct xen_domctl`, with the union cut down to the one member used and
/// its 128-byte pad.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Domctl {
    pub cmd: u32,
    pub interface_version: u32,
    pub domain: u16,
    pub pad: [u16; 3],
    pub u: DomctlUnion,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union DomctlUnion {
    pub rshadow_op: RshadowOp,
    pub pad: [u64; 16],
}

impl Domctl {
    pub fn rshadow(domain: u16, op: RshadowOp) -> Self {
        let mut d = Domctl {
            cmd: DOMCTL_RSHADOW_OP,
            interface_version: DOMCTL_INTERFACE_VERSION,
            domain,
            pad: [0; 3],
            u: DomctlUnion { pad: [0; 16] },
        };
        d.u.rshadow_op = op;
        d
    }
}

/// `XEN_DOMCTL_getvcpucontext`: `u.vcpucontext` is `{ uint32_t vcpu;
/// XEN_GUEST_HANDLE_64(vcpu_guest_context_t) ctxt; }`.
pub const DOMCTL_GETVCPUCONTEXT: u32 = 13;
/// `sizeof(struct vcpu_guest_context)` (x86-64).
pub const VCPU_CONTEXT_SIZE: usize = 5168;
/// `offsetof(struct vcpu_guest_context, ctrlreg)` (x86-64); for an HVM
/// vCPU Xen fills `ctrlreg[0,2,3,4]` with the guest's CR0, CR2, CR3, CR4.
pub const VCPU_CONTEXT_CTRLREG: usize = 4984;

/// Linux `struct privcmd_mmapbatch_v2`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PrivcmdMmapBatchV2 {
    pub num: u32,
    pub dom: u16,
    pub addr: u64,
    pub arr: *const u64,
    pub err: *mut i32,
}

/// Linux `IOCTL_PRIVCMD_MMAPBATCH_V2`: `_IOC(_IOC_NONE, 'P', 4,
/// sizeof(struct privcmd_mmapbatch_v2))`.
pub const IOCTL_PRIVCMD_MMAPBATCH_V2: u64 =
    ((std::mem::size_of::<PrivcmdMmapBatchV2>() as u64) << 16) | ((b'P' as u64) << 8) | 4;

/// Linux `struct privcmd_hypercall`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PrivcmdHypercall {
    pub op: u64,
    pub arg: [u64; 5],
}

/// Linux `IOCTL_PRIVCMD_HYPERCALL`: `_IOC(_IOC_NONE, 'P', 0,
/// sizeof(struct privcmd_hypercall))`.
pub const IOCTL_PRIVCMD_HYPERCALL: u64 =
    ((std::mem::size_of::<PrivcmdHypercall>() as u64) << 16) | ((b'P' as u64) << 8);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_the_c_headers() {
        assert_eq!(size_of::<Watch>(), 32);
        assert_eq!(size_of::<Record>(), 64);
        assert_eq!(offset_of!(Record, vcpu), 56);
        assert_eq!(offset_of!(Record, kind), 58);
        assert_eq!(offset_of!(Record, size), 59);
        assert_eq!(offset_of!(Record, mode), 60);
        assert_eq!(offset_of!(Record, flags), 61);
        assert_eq!(offset_of!(Record, extra), 62);
        assert_eq!(size_of::<Stats>(), 80);
        assert_eq!(size_of::<ListArgs>(), 24);
        assert_eq!(size_of::<TraceArgs>(), 24);
        assert_eq!(offset_of!(TraceArgs, lost), 16);
        assert_eq!(offset_of!(RshadowOp, u), 8);
        assert_eq!(size_of::<RshadowOp>(), 88);
        assert_eq!(offset_of!(Domctl, u), 16);
        assert_eq!(size_of::<Domctl>(), 16 + 128);
    }

    #[test]
    fn privcmd_ioctl_number() {
        // _IOC(0, 'P', 0, 48)
        assert_eq!(IOCTL_PRIVCMD_HYPERCALL, 0x0030_5000);
        assert_eq!(size_of::<PrivcmdMmapBatchV2>(), 32);
        assert_eq!(offset_of!(PrivcmdMmapBatchV2, addr), 8);
        assert_eq!(IOCTL_PRIVCMD_MMAPBATCH_V2, 0x0020_5004);
    }

    #[test]
    fn mode_and_cpl() {
        let r = Record {
            mode: MODE_LONG64 | (3 << 4),
            ..Default::default()
        };
        assert_eq!(crate::format::bitness(r.mode), 64);
        assert_eq!(r.cpl(), 3);
    }
}
