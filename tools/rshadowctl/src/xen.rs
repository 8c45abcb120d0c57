//! Hypercalls through Xen's own libxencall, with its hypercall-safe
//! buffers.
//!
//! Xen reads and writes hypercall arguments through the caller's virtual
//! addresses while the kernel is inside the hypercall, so they must be
//! present and must not move.  libxencall allocates such buffers (from
//! `/dev/xen/hypercall` where the kernel has it, else locked memory that a
//! fork does not copy) and issues the hypercall through privcmd; rshadowctl
//! uses it as Xen's own tools do, rather than its own ioctls.

use crate::abi::{self, Domctl, Record, RshadowOp, Stats, Watch};
use crate::errors::{Failure, explain_open};
use crate::foreign::ForeignMemory;
use crate::walk::Regs;
use std::ffi::{c_int, c_uint, c_void};
use std::io;

pub const PRIVCMD: &str = "/dev/xen/privcmd";

const PAGE: usize = 4096;
/// The buffer: one page for the domctl, then the data area for
/// `LIST_WATCHES` and `READ_TRACE`.
const DATA_OFFSET: usize = PAGE;
const DATA_PAGES: usize = 18;
const BUF_PAGES: usize = 1 + DATA_PAGES;
/// Records per `READ_TRACE`.
pub const TRACE_BATCH: u32 = (DATA_PAGES * PAGE / std::mem::size_of::<Record>()) as u32;
/// Watches per `LIST_WATCHES`.
pub const LIST_BATCH: u32 = (DATA_PAGES * PAGE / std::mem::size_of::<Watch>()) as u32;

// gethvmcontext_partial writes a whole CPU record into the data area.
const _: () = assert!(std::mem::size_of::<abi::xen_public::hvm_hw_cpu>() <= DATA_PAGES * PAGE);

#[repr(C)]
struct XencallHandle {
    _opaque: [u8; 0],
}

unsafe extern "C" {
    fn xencall_open(logger: *mut c_void, open_flags: c_uint) -> *mut XencallHandle;
    fn xencall_close(xcall: *mut XencallHandle) -> c_int;
    fn xencall_alloc_buffer_pages(xcall: *mut XencallHandle, nr_pages: usize) -> *mut c_void;
    fn xencall_free_buffer_pages(xcall: *mut XencallHandle, p: *mut c_void, nr_pages: usize);
    fn xencall1(xcall: *mut XencallHandle, op: c_uint, arg1: u64) -> c_int;
}

/// An open libxencall handle with its hypercall buffer.
pub struct Xen {
    xcall: *mut XencallHandle,
    buf: *mut u8,
    fmem: Option<ForeignMemory>,
}

impl Drop for Xen {
    fn drop(&mut self) {
        // SAFETY: the handle and buffer this value owns, freed once.
        unsafe {
            xencall_free_buffer_pages(self.xcall, self.buf.cast(), BUF_PAGES);
            xencall_close(self.xcall);
        }
    }
}

/// Which part of opening failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStep {
    /// libxencall's handle (`/dev/xen/privcmd`).
    Device,
    /// The hypercall buffer.
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
        // SAFETY: no logger (NULL), no flags; returns NULL or a handle.
        let xcall = unsafe { xencall_open(std::ptr::null_mut(), 0) };
        if xcall.is_null() {
            return Err((OpenStep::Device, errno()));
        }
        // SAFETY: the live handle; NULL or BUF_PAGES zeroed pages.
        let buf = unsafe { xencall_alloc_buffer_pages(xcall, BUF_PAGES) }.cast::<u8>();
        if buf.is_null() {
            let e = errno();
            // SAFETY: the handle opened above, closed once.
            unsafe { xencall_close(xcall) };
            return Err((OpenStep::Buffer, e));
        }
        Ok(Xen {
            xcall,
            buf,
            fmem: None,
        })
    }

    /// Issues a domctl; returns it as Xen left it.
    fn domctl(&mut self, d: Domctl) -> Result<Domctl, Errno> {
        let dptr = self.buf.cast::<Domctl>();
        // SAFETY: the buffer is page-aligned, BUF_PAGES pages, owned by
        // self, and Domctl is plain data smaller than a page.
        unsafe { std::ptr::write_volatile(dptr, d) };
        // SAFETY: the live handle; the domctl lives in its hypercall buffer
        // for the whole call.
        let rc = unsafe { xencall1(self.xcall, abi::HYPERVISOR_DOMCTL as c_uint, dptr as u64) };
        if rc < 0 {
            return Err(Errno(errno()));
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
        unsafe { self.buf.add(DATA_OFFSET) as u64 }
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

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_fit_the_data_area() {
        assert_eq!(TRACE_BATCH, 1024);
        assert_eq!(LIST_BATCH, 2304);
    }
}
