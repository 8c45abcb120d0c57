//! Where the bytes of a recorded instruction come from, for disassembly.
//!
//! A record carries the instruction's RIP and CPU mode but not the address
//! space (CR3) it ran in, and the trace is read later, after the guest (or,
//! for dom0 watching itself, this very process) has moved on.  So the tool
//! only disassembles where it can tell whose code a RIP is:
//!
//! * `exec` records carry the first bytes of the fetched instruction in
//!   their value: decoded when those bytes hold a whole instruction;
//! * with `--pid PID` (dom0 watching a process of its own): a record at
//!   CPL 3 is read from `/proc/PID/mem` at its RIP when it belongs to PID,
//!   and it does when its window (the access and the steps after it) was
//!   opened by a CPL-3 access whose linear address maps, in PID's page
//!   tables (`/proc/PID/pagemap`), to the recorded frame, and no record of
//!   the window since ran at another CPL (a `syscall` or an interrupt into
//!   the kernel may switch processes);
//! * domain 0, taken to be the domain rshadowctl runs in: a record at CPL 0
//!   whose RIP is in the kernel half is read from `/proc/kcore` (Linux maps
//!   its kernel the same in every process, so the owner does not matter);
//! * another domain, in long mode: its code is read through foreign mappings
//!   of its frames (Xen's libxenforeignmemory), walking the page tables
//!   of the vCPU's CR3 *now* (`XEN_DOMCTL_gethvmcontext_partial`), or of the
//!   CR3 given with `trace --cr3`.  That is right for a CPL-0 record with a
//!   kernel-half RIP (the kernel half is the same in every address space, as
//!   Linux and Windows map it), and for a CPL-3 window by the rule above,
//!   with "maps to the recorded frame" checked in that address space;
//! * anything else (dom0's user code without `--pid`, modes other than
//!   long mode for other domains) is shown as "code not readable".
//!
//! The bytes are read when the trace is read, not when the instruction ran:
//! code the process rewrote in between would be shown as it is now.

use crate::abi::{self, Record};
use crate::walk::{self, Regs};
use crate::xen::Xen;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Which vCPUs' current windows belong to the process: the pure part of
/// the rule above.
#[derive(Default, Debug)]
pub struct Attribution {
    ours: Vec<bool>,
}

impl Attribution {
    /// Whether `r` ran in the process; `owns(linear, gfn)` tells whether
    /// the process maps `linear` to `gfn`.
    pub fn update(&mut self, r: &Record, mut owns: impl FnMut(u64, u64) -> bool) -> bool {
        let v = usize::from(r.vcpu);
        if self.ours.len() <= v {
            self.ours.resize(v + 1, false);
        }
        let ours = match r.kind {
            _ if r.cpl() != 3 => false,
            abi::REC_STEP => self.ours[v],
            k if r.is_access() && k != abi::REC_EXEC => {
                owns(r.linear & !0xfff, r.gfn)
                    || owns((r.linear + u64::from(r.size.max(1)) - 1) & !0xfff, r.gfn)
            }
            // An exec record's linear address is its RIP.
            abi::REC_EXEC => owns(r.linear & !0xfff, r.gfn),
            // An access given up on: the same test, but no window follows.
            abi::REC_ERROR => {
                let ours = owns(r.linear & !0xfff, r.gfn);
                self.ours[v] = false;
                return ours;
            }
            _ => false,
        };
        self.ours[v] = ours;
        ours
    }
}

/// A loadable segment of `/proc/kcore`: kernel virtual addresses
/// `vaddr..vaddr + len` are at `offset` in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub len: u64,
    pub offset: u64,
}

/// The `PT_LOAD` segments of an ELF64 little-endian core file, given its
/// header and program headers (`read(offset, len)` reads the file).
pub fn elf_segments(read: impl Fn(u64, usize) -> Option<Vec<u8>>) -> Option<Vec<Segment>> {
    let eh = read(0, 64)?;
    if eh.len() < 64 || &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let phoff = u64_at(&eh, 0x20);
    let phentsize = usize::from(u16_at(&eh, 0x36));
    let phnum = usize::from(u16_at(&eh, 0x38));
    if phentsize < 56 {
        return None;
    }
    let ph = read(phoff, phentsize * phnum)?;
    if ph.len() < phentsize * phnum {
        return None;
    }
    Some(
        (0..phnum)
            .map(|i| &ph[i * phentsize..(i + 1) * phentsize])
            .filter(|p| u32::from_le_bytes(p[..4].try_into().expect("4 bytes")) == 1)
            .map(|p| Segment {
                vaddr: u64_at(p, 16),
                len: u64_at(p, 40),
                offset: u64_at(p, 8),
            })
            .collect(),
    )
}

/// Where in the file `addr` is, and how many bytes from there are in the
/// same segment.
pub fn segment_offset(segs: &[Segment], addr: u64) -> Option<(u64, u64)> {
    segs.iter()
        .find(|s| addr >= s.vaddr && addr - s.vaddr < s.len)
        .map(|s| (s.offset + (addr - s.vaddr), s.len - (addr - s.vaddr)))
}

/// The kernel of this domain, read through `/proc/kcore` (root; Linux's
/// lockdown in confidentiality mode forbids it).
pub struct Kcore {
    file: File,
    segs: Vec<Segment>,
}

impl Kcore {
    pub fn open() -> Option<Kcore> {
        let file = File::open("/proc/kcore").ok()?;
        let segs = elf_segments(|off, len| {
            let mut b = vec![0u8; len];
            file.read_exact_at(&mut b, off).ok().map(|_| b)
        })?;
        Some(Kcore { file, segs })
    }

    /// Up to 15 bytes of kernel code at `addr`.
    pub fn code(&self, addr: u64) -> Vec<u8> {
        let Some((off, left)) = segment_offset(&self.segs, addr) else {
            return Vec::new();
        };
        let mut out = vec![0u8; left.min(crate::format::MAX_INSN as u64) as usize];
        let got = self.file.read_at(&mut out, off).unwrap_or(0);
        out.truncate(got);
        out
    }
}

/// Symbols of a kernel, from `/proc/kallsyms` or a `System.map`
/// ("ADDRESS TYPE NAME [module]" lines): text symbols to name RIPs with,
/// and every symbol by name (`--ksym`).  `slide` is the KASLR offset of the
/// running kernel from these addresses (0 for a copy of its own kallsyms).
#[derive(Default, Debug)]
pub struct Symbols {
    syms: Vec<(u64, String)>,
    names: HashMap<String, u64>,
    slide: u64,
}

impl Symbols {
    pub fn parse(text: &str) -> Symbols {
        let mut names = HashMap::new();
        let mut syms: Vec<(u64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let addr = u64::from_str_radix(f.next()?, 16).ok()?;
                let kind = f.next()?;
                let name = f.next()?;
                if addr != 0 && f.next().is_none() {
                    // The kernel's own symbols (no [module]); the first of a
                    // name wins, as kallsyms_lookup_name does.
                    names.entry(name.to_string()).or_insert(addr);
                }
                (addr != 0 && matches!(kind, "t" | "T" | "w" | "W"))
                    .then(|| (addr, name.to_string()))
            })
            .collect();
        syms.sort();
        Symbols {
            syms,
            names,
            slide: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.syms.is_empty() && self.names.is_empty()
    }

    /// The address a symbol has in the file (before any slide).
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.names.get(name).copied()
    }

    /// Names RIPs of a kernel running `slide` bytes away from the file.
    pub fn set_slide(&mut self, slide: u64) {
        self.slide = slide;
    }

    /// `name+0xoff` for an address at most 1 MiB past a symbol.
    pub fn lookup(&self, addr: u64) -> Option<String> {
        let addr = addr.wrapping_sub(self.slide);
        let i = self
            .syms
            .partition_point(|(a, _)| *a <= addr)
            .checked_sub(1)?;
        let (a, name) = &self.syms[i];
        let off = addr - a;
        (off < 1 << 20).then(|| {
            if off == 0 {
                name.clone()
            } else {
                format!("{name}+{off:#x}")
            }
        })
    }
}

/// The text `linux_banner` starts with, in every Linux kernel.
pub const BANNER: &[u8] = b"Linux version ";
/// Linux x86-64's KASLR: the kernel's virtual address moves by a multiple of
/// CONFIG_PHYSICAL_ALIGN (2 MiB) within the 1 GiB kernel image area.
pub const KASLR_ALIGN: u64 = 2 << 20;
pub const KASLR_RANGE: u64 = 1 << 30;

/// The KASLR slide of a running Linux kernel: the offset, from 0 up in 2
/// MiB steps within 1 GiB, at which `read(va)` finds `BANNER` at
/// `linux_banner`'s address from the symbols file.  `None` when no offset
/// does (the file is not this kernel's, or its page tables are not the
/// ones given).
pub fn find_slide(banner: u64, mut read: impl FnMut(u64) -> Option<Vec<u8>>) -> Option<u64> {
    (0..KASLR_RANGE / KASLR_ALIGN)
        .map(|k| k * KASLR_ALIGN)
        .find(|slide| read(banner.wrapping_add(*slide)).is_some_and(|b| b.starts_with(BANNER)))
}

/// Whether an address is in the upper (kernel) half of a 48- or 57-bit
/// address space.
pub fn kernel_half(addr: u64) -> bool {
    addr >> 63 == 1
}

/// Another domain's memory, read through foreign mappings and walked with
/// its vCPUs' current control registers.  Cached for one batch of records
/// (`refresh` between batches: the guest moves on).
pub struct Foreign {
    dom: u16,
    /// The address space to read through instead of each vCPU's current
    /// one (`trace --cr3`).
    cr3: Option<u64>,
    crs: HashMap<u16, Option<Regs>>,
    frames: HashMap<u64, Option<Vec<u8>>>,
}

impl Foreign {
    pub fn new(dom: u16, cr3: Option<u64>) -> Self {
        Foreign {
            dom,
            cr3,
            crs: HashMap::new(),
            frames: HashMap::new(),
        }
    }

    pub fn refresh(&mut self) {
        self.crs.clear();
        self.frames.clear();
    }

    fn frame(&mut self, xen: &mut Xen, gfn: u64) -> Option<&[u8]> {
        let dom = self.dom;
        self.frames
            .entry(gfn)
            .or_insert_with(|| xen.read_foreign_frame(dom, gfn).ok())
            .as_deref()
    }

    /// The `width`-byte (4 or 8) little-endian value at guest-physical
    /// `gpa`, within one frame.
    pub fn read_entry(&mut self, xen: &mut Xen, gpa: u64, width: usize) -> Option<u64> {
        let off = (gpa & 0xfff) as usize;
        let f = self.frame(xen, gpa >> 12)?;
        let b = f.get(off..off + width)?;
        let mut v = [0u8; 8];
        v[..width].copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    }

    /// The guest-physical address of `va` in the address space at `cr3`
    /// (a record's; 0 for none), else the one at --cr3, else `vcpu`'s
    /// current one; in `vcpu`'s paging mode (long mode only).
    pub fn translate(&mut self, xen: &mut Xen, vcpu: u16, cr3: u64, va: u64) -> Option<u64> {
        let dom = self.dom;
        let mut regs = (*self
            .crs
            .entry(vcpu)
            .or_insert_with(|| xen.control_registers(dom, u32::from(vcpu)).ok()))?;
        if cr3 != 0 {
            regs.cr3 = cr3;
        } else if let Some(cr3) = self.cr3 {
            regs.cr3 = cr3;
        }
        walk::translate(&regs, va, |gpa| self.read_entry(xen, gpa, 8))
    }

    /// `n` bytes at `va` in the address space at `cr3` (in `vcpu`'s paging
    /// mode), or `None` where a page is not mapped.
    pub fn read_virt(&mut self, xen: &mut Xen, regs: &Regs, va: u64, n: usize) -> Option<Vec<u8>> {
        let paging = walk::Paging::of(regs);
        let mut out = Vec::with_capacity(n);
        let mut at = va;
        while out.len() < n {
            let t =
                walk::translate_with(paging, regs.cr3, at, |gpa, w| self.read_entry(xen, gpa, w))
                    .ok()?;
            let off = (t.gpa & 0xfff) as usize;
            let k = (0x1000 - off).min(n - out.len());
            out.extend_from_slice(self.frame(xen, t.gpa >> 12)?.get(off..off + k)?);
            at = at.wrapping_add(k as u64);
        }
        Some(out)
    }

    /// Up to 15 bytes of code at `rip` in the address space at `cr3`, as
    /// for [`translate`](Self::translate).
    pub fn code(&mut self, xen: &mut Xen, vcpu: u16, cr3: u64, rip: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut va = rip;
        while out.len() < crate::format::MAX_INSN {
            let Some(gpa) = self.translate(xen, vcpu, cr3, va) else {
                break;
            };
            let off = (gpa & 0xfff) as usize;
            let Some(f) = self.frame(xen, gpa >> 12) else {
                break;
            };
            let n = (0x1000 - off).min(crate::format::MAX_INSN - out.len());
            out.extend_from_slice(&f[off..off + n]);
            va += n as u64;
        }
        out
    }
}

/// A process of this domain, read through procfs.
pub struct Process {
    mem: File,
    pagemap: File,
}

impl Process {
    pub fn open(pid: u32) -> std::io::Result<Process> {
        Ok(Process {
            mem: File::open(format!("/proc/{pid}/mem"))?,
            pagemap: File::open(format!("/proc/{pid}/pagemap"))?,
        })
    }

    /// The frame `vaddr` maps to, if present (needs CAP_SYS_ADMIN for the
    /// frame numbers: root).
    pub fn frame_of(&self, vaddr: u64) -> Option<u64> {
        let mut e = [0u8; 8];
        self.pagemap.read_exact_at(&mut e, (vaddr >> 12) * 8).ok()?;
        let e = u64::from_le_bytes(e);
        let pfn = e & ((1 << 55) - 1);
        (e >> 63 == 1 && pfn != 0).then_some(pfn)
    }

    /// Up to 15 bytes at `addr`, stopping at the first unreadable page.
    pub fn code(&self, addr: u64) -> Vec<u8> {
        let mut out = vec![0u8; crate::format::MAX_INSN];
        let first = (0x1000 - (addr & 0xfff)).min(out.len() as u64) as usize;
        let mut got = self.mem.read_at(&mut out[..first], addr).unwrap_or(0);
        if got == first && first < out.len() {
            got += self
                .mem
                .read_at(&mut out[first..], addr + first as u64)
                .unwrap_or(0);
        }
        out.truncate(got);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: u8, cpl: u8, linear: u64, gfn: u64) -> Record {
        Record {
            kind,
            mode: abi::MODE_LONG64 | (cpl << 4),
            linear,
            gfn,
            size: 4,
            ..Default::default()
        }
    }

    #[test]
    fn a_window_opened_by_the_process_is_the_process() {
        let mut a = Attribution::default();
        let maps = |l: u64, g: u64| l == 0x7000 && g == 0x55;
        assert!(a.update(&rec(abi::REC_WRITE, 3, 0x7010, 0x55), maps));
        assert!(a.update(&rec(abi::REC_STEP, 3, 0x401000, 0), maps));
        assert!(a.update(&rec(abi::REC_STEP, 3, 0x401000, 0), maps));
        // into the kernel: not ours, and the window stays not ours
        assert!(!a.update(&rec(abi::REC_STEP, 0, 0, 0), maps));
        assert!(!a.update(&rec(abi::REC_STEP, 3, 0x401000, 0), maps));
    }

    #[test]
    fn other_accesses_are_not_the_process() {
        let mut a = Attribution::default();
        let maps = |l: u64, g: u64| l == 0x7000 && g == 0x55;
        // another process mapping the frame elsewhere
        assert!(!a.update(&rec(abi::REC_WRITE, 3, 0x9000, 0x55), maps));
        assert!(!a.update(&rec(abi::REC_STEP, 3, 0x401000, 0), maps));
        // the kernel writing the frame through its own mapping
        assert!(!a.update(&rec(abi::REC_WRITE, 0, 0x7000, 0x55), maps));
        // an error record is the process's by the same test, and ends the
        // window
        assert!(a.update(&rec(abi::REC_READ, 3, 0x7000, 0x55), maps));
        assert!(a.update(&rec(abi::REC_ERROR, 3, 0x7000, 0x55), maps));
        assert!(!a.update(&rec(abi::REC_STEP, 3, 0x401000, 0), maps));
        assert!(!a.update(&rec(abi::REC_ERROR, 3, 0x9000, 0x55), maps));
        assert!(!a.update(&rec(abi::REC_ERROR, 0, 0x7000, 0x55), maps));
    }

    #[test]
    fn straddling_access_and_exec() {
        let mut a = Attribution::default();
        let maps = |l: u64, g: u64| l == 0x8000 && g == 0x56;
        assert!(a.update(&rec(abi::REC_WRITE, 3, 0x7ffe, 0x56), maps));
        assert!(a.update(&rec(abi::REC_EXEC, 3, 0x8004, 0x56), maps));
    }

    #[test]
    fn vcpus_are_separate() {
        let mut a = Attribution::default();
        let maps = |_: u64, _: u64| true;
        assert!(a.update(&rec(abi::REC_WRITE, 3, 0x7000, 1), maps));
        let mut s = rec(abi::REC_STEP, 3, 0, 0);
        s.vcpu = 1;
        assert!(!a.update(&s, maps));
        s.vcpu = 0;
        assert!(a.update(&s, maps));
    }

    #[test]
    fn elf_segments_of_a_core_file() {
        // ELF64 LE header, 2 program headers at 64: a PT_NOTE and a PT_LOAD.
        let mut f = vec![0u8; 64 + 2 * 56];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        f[64..68].copy_from_slice(&4u32.to_le_bytes());
        let l = 64 + 56;
        f[l..l + 4].copy_from_slice(&1u32.to_le_bytes());
        f[l + 8..l + 16].copy_from_slice(&0x2000u64.to_le_bytes());
        f[l + 16..l + 24].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
        f[l + 40..l + 48].copy_from_slice(&0x10_0000u64.to_le_bytes());
        let read = |o: u64, n: usize| f.get(o as usize..o as usize + n).map(|b| b.to_vec());
        let segs = elf_segments(read).unwrap();
        assert_eq!(
            segs,
            vec![Segment {
                vaddr: 0xffff_ffff_8100_0000,
                len: 0x10_0000,
                offset: 0x2000
            }]
        );
        assert_eq!(
            segment_offset(&segs, 0xffff_ffff_8100_0010),
            Some((0x2010, 0xf_fff0))
        );
        assert_eq!(segment_offset(&segs, 0xffff_ffff_8110_0000), None);
        assert_eq!(segment_offset(&segs, 0x1000), None);
        // not an ELF64 LE file
        let mut bad = f.clone();
        bad[4] = 1;
        assert_eq!(
            elf_segments(|o, n| bad.get(o as usize..o as usize + n).map(|b| b.to_vec())),
            None
        );
        assert_eq!(elf_segments(|_, _| None), None);
    }

    #[test]
    fn symbols_from_kallsyms_or_system_map() {
        let s = Symbols::parse(
            "ffffffff81000000 T _stext\n\
             ffffffff819f6f80 T copy_user_generic_string\n\
             ffffffff819f6fc0 t other\n\
             ffffffff82000000 D some_data\n\
             0000000000000000 T zeroed_by_kptr_restrict\n\
             garbage line\n\
             ffffffffc0000000 t mod_fn\t[xen_privcmd]\n",
        );
        assert!(!s.is_empty());
        assert_eq!(
            s.lookup(0xffff_ffff_819f_6fac).as_deref(),
            Some("copy_user_generic_string+0x2c")
        );
        assert_eq!(s.lookup(0xffff_ffff_819f_6fc0).as_deref(), Some("other"));
        assert_eq!(s.lookup(0xffff_ffff_8000_0000), None);
        assert_eq!(
            s.lookup(0xffff_ffff_c000_0004).as_deref(),
            Some("mod_fn+0x4")
        );
        // data symbols are not used; far past the last text symbol: none
        assert_eq!(s.lookup(0xffff_ffff_8200_0000).as_deref(), None);
        assert!(Symbols::parse("0000000000000000 T a\n").is_empty());
        // every kernel symbol by name, data too; not modules'
        assert_eq!(s.address_of("some_data"), Some(0xffff_ffff_8200_0000));
        assert_eq!(s.address_of("_stext"), Some(0xffff_ffff_8100_0000));
        assert_eq!(s.address_of("mod_fn"), None);
        assert_eq!(s.address_of("zeroed_by_kptr_restrict"), None);
    }

    #[test]
    fn a_slid_kernel_is_named_from_the_file() {
        let mut s = Symbols::parse("ffffffff81000000 T _stext\nffffffff81000100 T f\n");
        s.set_slide(0x2e0_0000);
        assert_eq!(s.lookup(0xffff_ffff_83e0_0104).as_deref(), Some("f+0x4"));
        assert_eq!(s.lookup(0xffff_ffff_8100_0104), None);
    }

    #[test]
    fn kaslr_slide_found_by_the_banner() {
        let banner = 0xffff_ffff_8200_0100u64;
        let slide = 7 * KASLR_ALIGN;
        let mem =
            |va: u64| (va == banner + slide).then(|| b"Linux version 6.1.0-57-amd64".to_vec());
        assert_eq!(find_slide(banner, mem), Some(slide));
        assert_eq!(
            find_slide(banner, |_| Some(b"Linux version x".to_vec())),
            Some(0)
        );
        // nothing like a banner anywhere: no slide, not a guess
        assert_eq!(find_slide(banner, |_| Some(vec![0; 14])), None);
        assert_eq!(find_slide(banner, |_| None), None);
    }

    #[test]
    fn kernel_half_addresses() {
        assert!(kernel_half(0xffff_ffff_8100_0000));
        assert!(kernel_half(0xff00_0000_0000_0000));
        assert!(!kernel_half(0x7fff_ffff_f000));
        assert!(!kernel_half(0x401000));
    }

    #[test]
    fn reads_own_code_and_frames() {
        let p = Process::open(std::process::id()).unwrap();
        let f = reads_own_code_and_frames as *const () as u64;
        let bytes = p.code(f);
        assert_eq!(bytes.len(), 15);
        // SAFETY: reading the first bytes of a function of this program.
        let here = unsafe { std::slice::from_raw_parts(f as *const u8, 15) };
        assert_eq!(bytes, here);
        // unmapped: nothing
        assert!(p.code(0x10).is_empty());
        assert_eq!(p.frame_of(0x10), None);
    }
}
