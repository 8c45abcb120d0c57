//! Hypercalls through Linux's privcmd driver, with hypercall-safe buffers
//! allocated the way libxencall does.
//!
//! Xen reads and writes hypercall arguments through the caller's virtual
//! addresses while the kernel is inside the hypercall, so they must be
//! present and must not move: a page that is paged out, copy-on-write, or
//! migrated makes the hypercall fail with `EFAULT`.  As libxencall does,
//! the buffer is an mmap of `/dev/xen/hypercall` (pages the kernel
//! allocated and keeps) when that device exists, else anonymous memory that
//! is `MAP_LOCKED`, `mlock`ed, `MADV_DONTFORK` (a fork must not make it
//! copy-on-write) and touched page by page.

use crate::abi::{self, Domctl, PrivcmdHypercall, Record, RshadowOp, Stats, Watch};
use crate::errors::{Failure, explain_open};
use crate::foreign::ForeignMemory;
use crate::walk::Regs;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

pub const PRIVCMD: &str = "/dev/xen/privcmd";
pub const HYPERCALL_DEV: &str = "/dev/xen/hypercall";

const PAGE: usize = 4096;
/// The buffer: one page for the domctl, then the data area for
/// `LIST_WATCHES` and `READ_TRACE`.
const DATA_OFFSET: usize = PAGE;
const DATA_PAGES: usize = 18;
const BUF_LEN: usize = PAGE * (1 + DATA_PAGES);
/// Records per `READ_TRACE`.
pub const TRACE_BATCH: u32 = (DATA_PAGES * PAGE / std::mem::size_of::<Record>()) as u32;
/// Watches per `LIST_WATCHES`.
pub const LIST_BATCH: u32 = (DATA_PAGES * PAGE / std::mem::size_of::<Watch>()) as u32;

// gethvmcontext_partial writes a whole CPU record into the data area.
const _: () = assert!(std::mem::size_of::<abi::xen_public::hvm_hw_cpu>() <= DATA_PAGES * PAGE);

/// A hypercall-safe buffer.
struct HcallBuf {
    ptr: *mut u8,
    len: usize,
    _dev: Option<File>,
}

/// Set to `anonymous` to use locked anonymous memory even where
/// `/dev/xen/hypercall` exists (to test that path).
pub const BUFFER_ENV: &str = "RSHADOWCTL_HYPERCALL_BUFFER";

impl HcallBuf {
    fn new(len: usize) -> io::Result<Self> {
        let device = std::env::var(BUFFER_ENV).map_or(true, |v| v != "anonymous");
        if let Some(dev) = device
            .then(|| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(HYPERCALL_DEV)
                    .ok()
            })
            .flatten()
        {
            // SAFETY: a fresh shared mapping of the device; nothing else
            // refers to the address range it returns.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    dev.as_raw_fd(),
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                return Ok(HcallBuf {
                    ptr: p.cast(),
                    len,
                    _dev: Some(dev),
                });
            }
        }
        // SAFETY: a fresh anonymous mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_LOCKED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: p..p+len is the mapping just made.
        unsafe {
            if libc::mlock(p, len) != 0 || libc::madvise(p, len, libc::MADV_DONTFORK) != 0 {
                let e = io::Error::last_os_error();
                libc::munmap(p, len);
                return Err(e);
            }
            // Touch every page so that each is present before Xen sees it.
            for off in (0..len).step_by(PAGE) {
                std::ptr::write_volatile(p.cast::<u8>().add(off), 0);
            }
        }
        Ok(HcallBuf {
            ptr: p.cast(),
            len,
            _dev: None,
        })
    }
}

impl Drop for HcallBuf {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping this buffer owns.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// An open privcmd device with its hypercall buffer.
pub struct Xen {
    fd: File,
    buf: HcallBuf,
    fmem: Option<ForeignMemory>,
}

/// Which part of opening failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStep {
    /// `/dev/xen/privcmd`.
    Device,
    /// The locked hypercall buffer.
    Buffer,
}

/// A hypercall that failed, with the errno Xen gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Xen {
    /// Opens `/dev/xen/privcmd` and a hypercall buffer; the failure
    /// explained for a person.
    pub fn open() -> Result<Xen, Failure> {
        Self::open_errno().map_err(|(what, errno)| match what {
            OpenStep::Device => explain_open(PRIVCMD, errno),
            OpenStep::Buffer => Failure::new(
                crate::errors::exit::NO_HYPERCALLS,
                format!(
                    "cannot allocate a locked hypercall buffer: {} (see ulimit -l)",
                    io::Error::from_raw_os_error(errno)
                ),
            ),
        })
    }

    /// As [`Xen::open`], the failure as the step and its errno.
    pub fn open_errno() -> Result<Xen, (OpenStep, i32)> {
        let fd = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(PRIVCMD)
            .map_err(|e| (OpenStep::Device, e.raw_os_error().unwrap_or(libc::EIO)))?;
        let buf = HcallBuf::new(BUF_LEN)
            .map_err(|e| (OpenStep::Buffer, e.raw_os_error().unwrap_or(libc::ENOMEM)))?;
        Ok(Xen {
            fd,
            buf,
            fmem: None,
        })
    }

    /// Issues a domctl; returns it as Xen left it.
    fn domctl(&mut self, d: Domctl) -> Result<Domctl, Errno> {
        let dptr = self.buf.ptr.cast::<Domctl>();
        // SAFETY: the buffer is page-aligned, at least a page long, owned
        // by self, and Domctl is plain data smaller than a page.
        unsafe { std::ptr::write_volatile(dptr, d) };
        let mut call = PrivcmdHypercall {
            op: abi::HYPERVISOR_DOMCTL,
            arg: [dptr as u64, 0, 0, 0, 0],
        };
        // SAFETY: the ioctl takes a struct privcmd_hypercall; the domctl it
        // points to lives in the locked buffer for the whole call.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                abi::IOCTL_PRIVCMD_HYPERCALL as _,
                &mut call as *mut PrivcmdHypercall,
            )
        };
        if rc < 0 {
            return Err(Errno(
                io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            ));
        }
        // SAFETY: as above; Xen has written the result back.
        Ok(unsafe { std::ptr::read_volatile(dptr) })
    }

    /// Issues `XEN_DOMCTL_rshadow_op` on `domain`; returns the op as Xen
    /// left it.
    pub fn rshadow(&mut self, domain: u16, op: RshadowOp) -> Result<RshadowOp, Errno> {
        let out = self.domctl(Domctl::rshadow(domain, op))?;
        // SAFETY: the union member written was the rshadow op.
        Ok(unsafe { out.u.rshadow_op })
    }

    /// An HVM vCPU's control registers and EFER now
    /// (`XEN_DOMCTL_gethvmcontext_partial`, its `CPU` record).
    pub fn control_registers(&mut self, dom: u16, vcpu: u32) -> Result<Regs, Errno> {
        type Cpu = abi::xen_public::hvm_hw_cpu;
        let args = abi::xen_public::xen_domctl_hvmcontext_partial {
            type_: abi::HVM_SAVE_CODE_CPU,
            instance: vcpu,
            bufsz: std::mem::size_of::<Cpu>() as u64,
            buffer: abi::xen_public::__guest_handle_uint8 {
                p: self.data_addr() as *mut u8,
            },
        };
        let mut pad = [0u64; 16];
        // SAFETY: the argument structure (24 bytes) fits the union's 128.
        unsafe {
            std::ptr::copy_nonoverlapping(
                (&args as *const abi::xen_public::xen_domctl_hvmcontext_partial).cast::<u8>(),
                pad.as_mut_ptr().cast::<u8>(),
                std::mem::size_of_val(&args),
            )
        };
        let d = Domctl {
            cmd: abi::DOMCTL_GETHVMCONTEXT_PARTIAL,
            interface_version: abi::DOMCTL_INTERFACE_VERSION,
            domain: dom,
            pad: [0; 3],
            u: abi::DomctlUnion { pad },
        };
        self.domctl(d)?;
        // SAFETY: Xen wrote the CPU record (hvm_hw_cpu, about 1 KiB) at the
        // start of the 64 KiB data area; read_unaligned copies it out.
        let cpu: Cpu = unsafe { std::ptr::read_unaligned(self.data_addr() as *const Cpu) };
        Ok(Regs {
            cr0: cpu.cr0,
            cr3: cpu.cr3,
            cr4: cpu.cr4,
            efer: cpu.msr_efer,
        })
    }

    /// A copy of a frame of another domain, through Xen's
    /// libxenforeignmemory (opened on first use).  Xen refuses a domain's
    /// own frames.
    pub fn read_foreign_frame(&mut self, dom: u16, gfn: u64) -> Result<Vec<u8>, Errno> {
        if self.fmem.is_none() {
            self.fmem = Some(ForeignMemory::open().map_err(Errno)?);
        }
        match &self.fmem {
            Some(f) => f.read_frame(dom, gfn).map_err(Errno),
            None => Err(Errno(libc::EIO)),
        }
    }

    fn data_addr(&self) -> u64 {
        // SAFETY: DATA_OFFSET is inside the buffer.
        unsafe { self.buf.ptr.add(DATA_OFFSET) as u64 }
    }

    pub fn enable(&mut self, dom: u16, ring: u32) -> Result<(), Errno> {
        let mut op = RshadowOp::new(abi::Op::Enable);
        op.u.enable.ring_records = ring;
        self.rshadow(dom, op).map(|_| ())
    }

    pub fn simple(&mut self, dom: u16, which: abi::Op) -> Result<(), Errno> {
        self.rshadow(dom, RshadowOp::new(which)).map(|_| ())
    }

    pub fn watch(&mut self, dom: u16, which: abi::Op, w: Watch) -> Result<(), Errno> {
        let mut op = RshadowOp::new(which);
        op.u.watch = w;
        self.rshadow(dom, op).map(|_| ())
    }

    pub fn stats(&mut self, dom: u16) -> Result<Stats, Errno> {
        let op = self.rshadow(dom, RshadowOp::new(abi::Op::GetStats))?;
        // SAFETY: GET_STATS fills the stats member.
        Ok(unsafe { op.u.stats })
    }

    /// `XEN_DOMCTL_RSHADOW_OP_NOTIFY`: the traced domain's event channel
    /// port that Xen signals when records wait (a threshold of records per
    /// ring, 0 for half the ring; a latency in microseconds, 0 for Xen's
    /// default of 10 ms).
    pub fn notify(&mut self, dom: u16, threshold: u32, latency_us: u32) -> Result<u32, Errno> {
        let mut op = RshadowOp::new(abi::Op::Notify);
        op.u.notify.threshold = threshold;
        op.u.notify.latency_us = latency_us;
        let r = self.rshadow(dom, op)?;
        // SAFETY: NOTIFY fills the notify member.
        Ok(unsafe { r.u.notify.port })
    }

    /// All watches, in batches.
    pub fn list(&mut self, dom: u16) -> Result<Vec<Watch>, Errno> {
        let mut out = Vec::new();
        loop {
            let mut op = RshadowOp::new(abi::Op::ListWatches);
            op.u.list.buf.p = self.data_addr() as *mut Watch;
            op.u.list.nr = LIST_BATCH;
            op.u.list.start = out.len() as u32;
            let r = self.rshadow(dom, op)?;
            // SAFETY: LIST_WATCHES fills the list member.
            let l = unsafe { r.u.list };
            let n = l.nr.min(LIST_BATCH) as usize;
            let base = self.data_addr() as *const Watch;
            for i in 0..n {
                // SAFETY: Xen wrote n <= LIST_BATCH watches into the data area.
                out.push(unsafe { std::ptr::read_volatile(base.add(i)) });
            }
            if n == 0 || out.len() >= l.total as usize {
                return Ok(out);
            }
        }
    }

    /// Reads (and consumes) up to `max` (at most a batch) of a vCPU's
    /// records, so none is consumed that the caller will not print; returns
    /// them, how many were lost since the last read, and how many the ring
    /// still holds.
    pub fn read_trace(
        &mut self,
        dom: u16,
        vcpu: u32,
        max: u32,
    ) -> Result<(Vec<Record>, u64, u32), Errno> {
        let mut op = RshadowOp::new(abi::Op::ReadTrace);
        let nr = max.clamp(1, TRACE_BATCH);
        op.u.trace.buf.p = self.data_addr() as *mut Record;
        op.u.trace.vcpu = vcpu;
        op.u.trace.nr = nr;
        let r = self.rshadow(dom, op)?;
        // SAFETY: READ_TRACE fills the trace member.
        let t = unsafe { r.u.trace };
        let n = t.nr.min(nr) as usize;
        let base = self.data_addr() as *const Record;
        let recs = (0..n)
            // SAFETY: Xen wrote n <= TRACE_BATCH records into the data area.
            .map(|i| unsafe { std::ptr::read_volatile(base.add(i)) })
            .collect();
        Ok((recs, t.lost, t.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without /dev/xen/hypercall (as on the build host), the buffer is
    /// locked anonymous memory: present, zeroed and writable.
    #[test]
    fn anonymous_buffer() {
        if std::path::Path::new(HYPERCALL_DEV).exists() {
            return;
        }
        let b = HcallBuf::new(BUF_LEN).expect("a locked buffer (RLIMIT_MEMLOCK?)");
        assert!(b._dev.is_none());
        assert_eq!(b.ptr as usize % PAGE, 0);
        // SAFETY: the buffer is BUF_LEN bytes, mapped read-write.
        let s = unsafe { std::slice::from_raw_parts_mut(b.ptr, b.len) };
        assert!(s.iter().all(|&x| x == 0));
        s[BUF_LEN - 1] = 1;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let locked: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap();
        assert!(locked >= (BUF_LEN / 1024) as u64, "VmLck {locked} kB");
    }

    #[test]
    fn batches_fit_the_data_area() {
        assert_eq!(TRACE_BATCH, 1024);
        assert_eq!(LIST_BATCH, 2304);
    }
}
