//! What each failure means to the person at the terminal, and the exit code
//! it gives.  Pure: no device access, so every path is unit-tested.

use crate::abi;
use crate::args::{Frames, access_string};

/// Exit codes (documented in `--help` and the README).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Anything unexpected: an errno Xen should not give, an I/O error.
    pub const UNEXPECTED: i32 = 1;
    /// Bad command line: refused before any hypercall.
    pub const USAGE: i32 = 2;
    /// No way to make hypercalls: not in a Xen domain, no privcmd driver,
    /// or not root.
    pub const NO_HYPERCALLS: i32 = 3;
    /// The hypervisor has no rust-shadow (`ENOSYS`).
    pub const NOT_AVAILABLE: i32 = 4;
    /// Xen refused this domain's privilege (`EPERM`, `EACCES`).
    pub const PERMISSION: i32 = 5;
    /// The target domain cannot be used as asked: unknown, not HVM, on HAP,
    /// rust-shadow on when it must be off or off when it must be on
    /// (`ESRCH`, `ENODEV`, `EOPNOTSUPP`, `EEXIST`, `ENXIO`).
    pub const DOMAIN_STATE: i32 = 6;
    /// The request itself was refused: its values, or the watches already
    /// there (`EINVAL`, `E2BIG`, `ERANGE`, `EADDRNOTAVAIL`, `EBUSY`,
    /// `ENOSPC`, `ENOENT`, `EFAULT`).
    pub const REFUSED: i32 = 7;
}

/// The operation that failed, with what it was asked, so the message can
/// name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Enable {
        dom: u16,
        ring: u32,
    },
    Disable {
        dom: u16,
    },
    Reset {
        dom: u16,
    },
    Watch {
        dom: u16,
        frames: Frames,
        access: u32,
        steps: u32,
    },
    Unwatch {
        dom: u16,
        frames: Frames,
    },
    List {
        dom: u16,
    },
    Trace {
        dom: u16,
        vcpu: u32,
    },
    Stats {
        dom: u16,
    },
    /// Reading a vCPU's registers to walk the page tables at `cr3`.
    Translate {
        dom: u16,
        va: u64,
        cr3: u64,
    },
    Vcpus {
        dom: u16,
    },
    /// Finding the guest's process `pid` (its task, its CR3) to walk the
    /// page tables of its address space.
    Process {
        dom: u16,
        va: u64,
        pid: u32,
    },
}

impl Request {
    pub fn dom(&self) -> u16 {
        match self {
            Request::Enable { dom, .. }
            | Request::Disable { dom }
            | Request::Reset { dom }
            | Request::Watch { dom, .. }
            | Request::Unwatch { dom, .. }
            | Request::List { dom }
            | Request::Trace { dom, .. }
            | Request::Stats { dom }
            | Request::Translate { dom, .. }
            | Request::Vcpus { dom }
            | Request::Process { dom, .. } => *dom,
        }
    }

    /// A short form of the command, for the start of the message.
    pub fn describe(&self) -> String {
        match self {
            Request::Enable { dom, ring } => format!("enable {dom} --ring {ring}"),
            Request::Disable { dom } => format!("disable {dom}"),
            Request::Reset { dom } => format!("reset {dom}"),
            Request::Watch {
                dom,
                frames,
                access,
                steps,
            } => format!(
                "watch {dom} {frames} {} --steps {steps}",
                access_string(*access)
            ),
            Request::Unwatch { dom, frames } => format!("unwatch {dom} {frames}"),
            Request::List { dom } => format!("list {dom}"),
            Request::Trace { dom, vcpu } => format!("trace {dom} (vCPU {vcpu})"),
            Request::Stats { dom } => format!("stats {dom}"),
            Request::Translate { dom, va, cr3 } => {
                format!("translate {dom} --va {va:#x} --cr3 {cr3:#x}")
            }
            Request::Vcpus { dom } => format!("vcpus {dom}"),
            Request::Process { dom, va, pid } => {
                format!("translate {dom} --va {va:#x} --pid {pid}")
            }
        }
    }
}

/// The symbolic name of an errno.
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ERANGE => "ERANGE",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENOTTY => "ENOTTY",
        _ => "unknown errno",
    }
}

/// A failure ready to print: the message and the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code,
        }
    }
}

/// Explains an errno the hypervisor returned for `req`.
pub fn explain(req: &Request, errno: i32) -> Failure {
    let d = req.dom();
    let (code, why) = match errno {
        libc::ENOSYS => (
            exit::NOT_AVAILABLE,
            "this hypervisor has no rust-shadow: XEN_DOMCTL_rshadow_op (87) is unknown \
             (not the patched Xen, or built without CONFIG_RSHADOW)"
                .to_string(),
        ),
        libc::EPERM => (
            exit::PERMISSION,
            format!(
                "Xen does not let this domain control domain {d}: only the control \
                 domain may (XSM_PRIV; with FLASK, domain2:rshadow)"
            ),
        ),
        libc::EACCES => (
            exit::PERMISSION,
            format!(
                "Xen refused access: its rust-shadow interface is not version {} (this \
                 rshadowctl is of another rust-shadow release than the hypervisor: install \
                 both from one), its domctl interface not version {:#x} (a different Xen), \
                 or its FLASK policy denies domain2:rshadow on domain {d}",
                abi::INTERFACE_VERSION,
                abi::DOMCTL_INTERFACE_VERSION
            ),
        ),
        libc::ESRCH => (exit::DOMAIN_STATE, format!("domain {d} does not exist")),
        libc::ENODEV => (
            exit::DOMAIN_STATE,
            format!("domain {d} is not an HVM or PVH guest; rust-shadow watches only those"),
        ),
        libc::EOPNOTSUPP => match req {
            Request::Watch { steps, .. } if *steps > 0 => (
                exit::DOMAIN_STATE,
                format!(
                    "domain {d} cannot be watched with steps: it uses hardware-assisted \
                     paging (HAP), or this CPU cannot single-step it (Xen's console says \
                     which); try --steps 0, or boot Xen with hap=0"
                ),
            ),
            _ => (
                exit::DOMAIN_STATE,
                format!(
                    "domain {d} uses hardware-assisted paging (HAP); rust-shadow needs \
                     shadow paging (boot Xen with hap=0, or create the domain with hap=0)"
                ),
            ),
        },
        libc::EEXIST => (
            exit::DOMAIN_STATE,
            format!(
                "rust-shadow is already enabled for domain {d} \
                 (rshadowctl disable {d} first, or rshadowctl reset {d})"
            ),
        ),
        libc::ENXIO => (
            exit::DOMAIN_STATE,
            format!("rust-shadow is not enabled for domain {d} (run: rshadowctl enable {d})"),
        ),
        libc::EINVAL => (
            exit::REFUSED,
            match req {
                Request::Enable { ring, .. } => format!(
                    "ring size {ring} is invalid: it must be a power of two from {} to {}",
                    abi::RING_MIN,
                    abi::RING_MAX
                ),
                Request::Watch { frames, access, .. } => format!(
                    "Xen found the watch invalid: {} frames, access {:#x} \
                     (a zero count or an access mask without r, w or x)",
                    frames.nr, access
                ),
                Request::Trace { vcpu, .. } => {
                    format!("domain {d} has no vCPU {vcpu}")
                }
                Request::Translate { .. } | Request::Vcpus { .. } | Request::Process { .. } => {
                    format!(
                        "Xen has no HVM register state for domain {d}'s vCPU 0: it is not an \
                         HVM or PVH guest"
                    )
                }
                _ => "Xen found the request invalid (flags or padding not zero)".to_string(),
            },
        ),
        libc::E2BIG => (
            exit::REFUSED,
            match req {
                Request::Enable { ring, .. } => format!(
                    "ring size {ring} is above the maximum of {} records per vCPU",
                    abi::RING_MAX
                ),
                Request::Watch { frames, steps, .. } => format!(
                    "the watch is too big: {} frames (at most {}) with {steps} steps (at most {})",
                    frames.nr,
                    abi::MAX_WATCH_FRAMES,
                    abi::MAX_STEPS
                ),
                _ => "a size or capacity is above Xen's maximum".to_string(),
            },
        ),
        libc::ERANGE => (
            exit::REFUSED,
            match req {
                Request::Watch { frames, .. } | Request::Unwatch { frames, .. } => {
                    format!("frames {frames} go beyond domain {d}'s memory")
                }
                _ => format!("beyond domain {d}'s memory"),
            },
        ),
        libc::EADDRNOTAVAIL => (
            exit::REFUSED,
            match req {
                Request::Watch { frames, .. } | Request::Unwatch { frames, .. } => format!(
                    "frames {frames} include a frame that is not RAM in domain {d} \
                     (MMIO, ROM or a hole)"
                ),
                _ => format!("a frame that is not RAM in domain {d}"),
            },
        ),
        libc::EFAULT => (
            exit::REFUSED,
            "Xen could not read or write rshadowctl's buffer (EFAULT): \
             the hypercall buffer was not usable (a bug in rshadowctl)"
                .to_string(),
        ),
        libc::EBUSY => (
            exit::REFUSED,
            match req {
                Request::Watch { frames, .. } => format!(
                    "frames {frames} overlap a range already watched in domain {d} \
                     (see: rshadowctl list {d})"
                ),
                _ => "the range overlaps a watched one".to_string(),
            },
        ),
        libc::ENOSPC => (
            exit::REFUSED,
            format!(
                "domain {d} already has {} watched ranges, the maximum",
                abi::MAX_WATCHES
            ),
        ),
        libc::ENOENT => (
            exit::REFUSED,
            match req {
                Request::Unwatch { frames, .. } => format!(
                    "frames {frames} are not a watched range of domain {d}: unwatch takes \
                     exactly a range as rshadowctl list {d} shows it"
                ),
                _ => "no such watched range".to_string(),
            },
        ),
        other => (
            exit::UNEXPECTED,
            format!(
                "unexpected error from Xen: {}",
                std::io::Error::from_raw_os_error(other)
            ),
        ),
    };
    Failure::new(
        code,
        format!("{}: {} [{}]", req.describe(), why, errno_name(errno)),
    )
}

/// A virtual address that does not resolve: where the walk stopped.
pub fn untranslated(req: &Request, why: &str) -> Failure {
    let hint = match req {
        Request::Process { pid, .. } => {
            format!("does process {pid} map it? /proc/{pid}/maps in the guest shows what it maps")
        }
        _ => format!(
            "is --cr3 the address space of the process that maps it? rshadowctl vcpus {} \
             shows the CR3s running now",
            req.dom()
        ),
    };
    Failure::new(exit::REFUSED, format!("{}: {why} ({hint})", req.describe()))
}

/// A guest process (`--pid`) whose address space was not found: not in
/// the guest's task list, a kernel thread, a task list that cannot be
/// followed, or symbols that are not the guest kernel's.  Exit 7, as for
/// an address that does not resolve.
pub fn no_process(req: &Request, why: &str) -> Failure {
    Failure::new(exit::REFUSED, format!("{}: {why}", req.describe()))
}

/// Explains a failure to open the privcmd device.
pub fn explain_open(path: &str, errno: i32) -> Failure {
    let why = match errno {
        libc::ENOENT => format!(
            "{path} does not exist: this is not a Xen domain, or the privcmd driver is \
             not loaded (modprobe xen-privcmd) or devtmpfs is not mounted"
        ),
        libc::EACCES | libc::EPERM => {
            format!("no permission to open {path}: run rshadowctl as root")
        }
        libc::ENODEV | libc::ENXIO => {
            format!("{path} has no driver behind it: load xen-privcmd")
        }
        _ => format!(
            "cannot open {path}: {}",
            std::io::Error::from_raw_os_error(errno)
        ),
    };
    Failure::new(
        exit::NO_HYPERCALLS,
        format!("{why} [{}]", errno_name(errno)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(steps: u32) -> Request {
        Request::Watch {
            dom: 3,
            frames: Frames {
                first: 0x1000,
                nr: 4,
            },
            access: abi::ACCESS_R | abi::ACCESS_W,
            steps,
        }
    }
    fn unwatch() -> Request {
        Request::Unwatch {
            dom: 3,
            frames: Frames {
                first: 0x1000,
                nr: 4,
            },
        }
    }

    /// Every errno the domctl documents, for every operation: a message
    /// naming the errno and the domain, and an exit code from the table.
    #[test]
    fn every_documented_errno_has_a_message_and_code() {
        let table = [
            (libc::EINVAL, exit::REFUSED),
            (libc::ENOSYS, exit::NOT_AVAILABLE),
            (libc::ESRCH, exit::DOMAIN_STATE),
            (libc::EPERM, exit::PERMISSION),
            (libc::EACCES, exit::PERMISSION),
            (libc::ENODEV, exit::DOMAIN_STATE),
            (libc::EOPNOTSUPP, exit::DOMAIN_STATE),
            (libc::EEXIST, exit::DOMAIN_STATE),
            (libc::ENXIO, exit::DOMAIN_STATE),
            (libc::E2BIG, exit::REFUSED),
            (libc::ERANGE, exit::REFUSED),
            (libc::EADDRNOTAVAIL, exit::REFUSED),
            (libc::EFAULT, exit::REFUSED),
            (libc::EBUSY, exit::REFUSED),
            (libc::ENOSPC, exit::REFUSED),
            (libc::ENOENT, exit::REFUSED),
        ];
        let reqs = [
            Request::Enable { dom: 3, ring: 64 },
            Request::Disable { dom: 3 },
            Request::Reset { dom: 3 },
            watch(0),
            watch(8),
            unwatch(),
            Request::List { dom: 3 },
            Request::Trace { dom: 3, vcpu: 1 },
            Request::Stats { dom: 3 },
        ];
        for (errno, code) in table {
            for r in &reqs {
                let f = explain(r, errno);
                assert_eq!(f.code, code, "{r:?} {errno}");
                assert!(
                    f.message.ends_with(&format!("[{}]", errno_name(errno))),
                    "{}",
                    f.message
                );
                assert!(f.message.starts_with(&r.describe()), "{}", f.message);
                assert_ne!(errno_name(errno), "unknown errno");
            }
        }
    }

    #[test]
    fn erange_names_the_frames_and_domain() {
        let f = explain(&watch(0), libc::ERANGE);
        assert_eq!(
            f.message,
            "watch 3 0x1000-0x1003 rw --steps 0: frames 0x1000-0x1003 go beyond \
             domain 3's memory [ERANGE]"
        );
        assert_eq!(f.code, 7);
    }

    #[test]
    fn eopnotsupp_with_steps_suggests_no_steps() {
        assert!(
            explain(&watch(8), libc::EOPNOTSUPP)
                .message
                .contains("--steps 0")
        );
        assert!(explain(&watch(0), libc::EOPNOTSUPP).message.contains("HAP"));
        assert!(
            explain(&Request::Enable { dom: 3, ring: 64 }, libc::EOPNOTSUPP)
                .message
                .contains("hap=0")
        );
    }

    #[test]
    fn operation_specific_messages() {
        assert!(
            explain(&Request::Trace { dom: 3, vcpu: 9 }, libc::EINVAL)
                .message
                .contains("no vCPU 9")
        );
        assert!(
            explain(&Request::Enable { dom: 3, ring: 100 }, libc::EINVAL)
                .message
                .contains("power of two")
        );
        assert!(
            explain(
                &Request::Enable {
                    dom: 3,
                    ring: 1 << 20
                },
                libc::E2BIG
            )
            .message
            .contains("65536")
        );
        assert!(explain(&watch(5000), libc::E2BIG).message.contains("4096"));
        assert!(
            explain(&unwatch(), libc::ENOENT)
                .message
                .contains("exactly")
        );
        assert!(explain(&watch(0), libc::EBUSY).message.contains("overlap"));
        assert!(
            explain(&watch(0), libc::EADDRNOTAVAIL)
                .message
                .contains("not RAM")
        );
        assert!(explain(&watch(0), libc::ENOSPC).message.contains("4096"));
        assert!(
            explain(&Request::Stats { dom: 3 }, libc::ENXIO)
                .message
                .contains("rshadowctl enable 3")
        );
        assert!(
            explain(&Request::Enable { dom: 3, ring: 64 }, libc::EEXIST)
                .message
                .contains("already enabled")
        );
        assert!(
            explain(&Request::List { dom: 9 }, libc::ESRCH)
                .message
                .contains("domain 9 does not exist")
        );
        assert!(
            explain(&Request::List { dom: 9 }, libc::ENODEV)
                .message
                .contains("not an HVM")
        );
        assert!(
            explain(&Request::List { dom: 9 }, libc::ENOSYS)
                .message
                .contains("no rust-shadow")
        );
        assert!(
            explain(&Request::List { dom: 9 }, libc::EACCES)
                .message
                .contains("0x15")
        );
    }

    #[test]
    fn a_guest_process_names_its_pid() {
        let r = Request::Process {
            dom: 3,
            va: 0x7e57_0000_0000,
            pid: 99,
        };
        assert_eq!(r.dom(), 3);
        let f = no_process(&r, "no process 99 in the guest");
        assert_eq!(f.code, exit::REFUSED);
        assert_eq!(
            f.message,
            "translate 3 --va 0x7e5700000000 --pid 99: no process 99 in the guest"
        );
        let f = untranslated(&r, "0x7e5700000000 is not mapped");
        assert_eq!(f.code, exit::REFUSED);
        assert!(f.message.contains("/proc/99/maps"), "{}", f.message);
        let f = untranslated(
            &Request::Translate {
                dom: 3,
                va: 0x1000,
                cr3: 0x2000,
            },
            "not mapped",
        );
        assert!(f.message.contains("rshadowctl vcpus 3"), "{}", f.message);
        assert!(explain(&r, libc::EINVAL).message.contains("vCPU 0"));
    }

    #[test]
    fn an_unknown_errno_is_unexpected() {
        let f = explain(&Request::Stats { dom: 0 }, libc::ENOMEM);
        assert_eq!(f.code, exit::UNEXPECTED);
        assert!(f.message.contains("unexpected"));
        assert_eq!(
            explain(&Request::Stats { dom: 0 }, 9999).code,
            exit::UNEXPECTED
        );
    }

    #[test]
    fn device_open_failures() {
        for e in [
            libc::ENOENT,
            libc::EACCES,
            libc::EPERM,
            libc::ENODEV,
            libc::ENXIO,
            libc::EIO,
        ] {
            let f = explain_open("/dev/xen/privcmd", e);
            assert_eq!(f.code, exit::NO_HYPERCALLS);
            assert!(f.message.contains("/dev/xen/privcmd"));
        }
        assert!(
            explain_open("/dev/xen/privcmd", libc::EACCES)
                .message
                .contains("root")
        );
        assert!(
            explain_open("/dev/xen/privcmd", libc::ENOENT)
                .message
                .contains("xen-privcmd")
        );
    }
}
