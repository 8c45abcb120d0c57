//! A process of a Linux guest by its process id (`--pid`): its task found
//! in the guest kernel's task list, read from dom0, and the address space
//! its `mm->pgd` points to, as a CR3.
//!
//! The rule, which the tests check:
//!
//! * The structure offsets (`task_struct`'s `tasks`, `pid`, `tgid`, `comm`,
//!   `mm`, `flags`; `mm_struct`'s `pgd`; `list_head`'s `next`) come from
//!   the kernel's own BTF (a copy of the guest's `/sys/kernel/btf/vmlinux`,
//!   parsed by the `btf-rs` crate), through anonymous structs and unions
//!   (6.1's `mm_struct` keeps its fields in one); nothing is assumed of a
//!   kernel version.  `init_task`'s address comes from the symbols file,
//!   moved by the KASLR slide found as `--ksym` finds it ([`crate::code`]).
//! * The walk follows `init_task.tasks` (every process's group leader, as
//!   `for_each_process` does) and matches the process id (`tgid`: a
//!   thread's own id is not on that list).  It reads at most
//!   [`MAX_TASKS`] entries and stops at the first entry seen twice (a loop
//!   that does not come back to `init_task`).
//! * Every pointer read from the guest is untrusted: it must be a
//!   kernel-half, aligned address, and every read that fails names what it
//!   was reading, where.  The guest keeps running while its list is read,
//!   so a task exiting meanwhile can break the walk: [`TaskError::retry`]
//!   says when reading again may help.
//! * `mm` NULL is a kernel thread (`PF_KTHREAD` in `flags`) or a process
//!   that has exited: refused, with which.  Otherwise `mm->pgd` (a kernel
//!   virtual address, page aligned) is translated through the kernel's own
//!   page tables to the guest-physical address of the top-level table:
//!   that is the CR3 (no PCID bits; under PTI the kernel half's, whose user
//!   half is the next page, bit 12 set).  No `page_offset_base` is needed.

use crate::code;
use crate::code::Foreign;
use crate::walk::{self, Regs};
use crate::xen::Xen;
use btf_rs::{Btf, Type};
use std::collections::HashSet;
use std::fmt;

/// The most task-list entries read before giving up.
pub const MAX_TASKS: usize = 65536;
/// `TASK_COMM_LEN`: `comm`'s size since Linux 2.6.
pub const TASK_COMM_LEN: usize = 16;
/// `PF_KTHREAD` in `task_struct.flags` (`include/linux/sched.h`, unchanged
/// since Linux 2.6.26).
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// Byte offsets of the fields the walk reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    pub task_tasks: u64,
    pub task_pid: u64,
    pub task_tgid: u64,
    pub task_comm: u64,
    pub task_mm: u64,
    pub task_flags: u64,
    pub mm_pgd: u64,
    pub list_next: u64,
}

/// What a field must be, checked against the BTF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A 4-byte integer (`pid_t`, `unsigned int`).
    Int4,
    /// A pointer.
    Ptr,
    /// An array of `TASK_COMM_LEN` bytes.
    Comm,
    /// A `struct list_head`.
    ListHead,
}

/// How deep anonymous structs and unions are searched (the kernel nests
/// two or three).
const MAX_NESTING: u32 = 8;

impl Offsets {
    /// The offsets from a BTF file's bytes (`/sys/kernel/btf/vmlinux`).
    pub fn from_btf_bytes(bytes: &[u8]) -> Result<Offsets, String> {
        check_btf_header(bytes)?;
        let btf = Btf::from_bytes(bytes).map_err(|e| format!("not a BTF file: {e}"))?;
        Offsets::from_btf(&btf)
    }

    /// The offsets from parsed BTF.
    pub fn from_btf(btf: &Btf) -> Result<Offsets, String> {
        let task = find_struct(btf, "task_struct")?;
        let mm = find_struct(btf, "mm_struct")?;
        let list = find_struct(btf, "list_head")?;
        let f = |s: &btf_rs::Struct, sname: &str, name: &str, shape: Shape| {
            field(btf, s, name, shape, 0, 0)?
                .ok_or_else(|| format!("struct {sname} has no field {name}"))
        };
        Ok(Offsets {
            task_tasks: f(&task, "task_struct", "tasks", Shape::ListHead)?,
            task_pid: f(&task, "task_struct", "pid", Shape::Int4)?,
            task_tgid: f(&task, "task_struct", "tgid", Shape::Int4)?,
            task_comm: f(&task, "task_struct", "comm", Shape::Comm)?,
            task_mm: f(&task, "task_struct", "mm", Shape::Ptr)?,
            task_flags: f(&task, "task_struct", "flags", Shape::Int4)?,
            mm_pgd: f(&mm, "mm_struct", "pgd", Shape::Ptr)?,
            list_next: f(&list, "list_head", "next", Shape::Ptr)?,
        })
    }
}

/// The BTF header's sections must lie in the data: btf-rs reads the string
/// section until it has `str_len` bytes, and would wait forever at the end
/// of a truncated file.
fn check_btf_header(b: &[u8]) -> Result<(), String> {
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as u64)
    };
    if b.get(..2) != Some(&[0x9f, 0xeb][..]) {
        return Err("not a BTF file (no little-endian BTF magic 0xeb9f at its start)".into());
    }
    let (Some(hdr), Some(toff), Some(tlen), Some(soff), Some(slen)) =
        (u32_at(4), u32_at(8), u32_at(12), u32_at(16), u32_at(20))
    else {
        return Err("a BTF file cut short in its header".into());
    };
    let len = b.len() as u64;
    if hdr < 24 || hdr + toff + tlen > len || hdr + soff + slen > len {
        return Err(format!(
            "a BTF file whose header is wrong or which is cut short: sections end at \
             {} and {} bytes, the file has {len}",
            hdr + toff + tlen,
            hdr + soff + slen
        ));
    }
    Ok(())
}

/// The struct of that name with members (a kernel's BTF has one; forward
/// declarations have none).
fn find_struct(btf: &Btf, name: &str) -> Result<btf_rs::Struct, String> {
    let types = btf.resolve_types_by_name(name).unwrap_or_default();
    types
        .into_iter()
        .find_map(|t| match t {
            Type::Struct(s) if !s.members.is_empty() => Some(s),
            _ => None,
        })
        .ok_or_else(|| format!("no struct {name} in it: it is not a Linux kernel's BTF"))
}

/// A type with its typedefs and qualifiers taken off.
fn strip(btf: &Btf, mut t: Type) -> Option<Type> {
    for _ in 0..16 {
        t = match t {
            Type::Typedef(x) => btf.resolve_chained_type(&x).ok()?,
            Type::Const(x) | Type::Volatile(x) | Type::Restrict(x) => {
                btf.resolve_chained_type(&x).ok()?
            }
            Type::TypeTag(x) => btf.resolve_chained_type(&x).ok()?,
            other => return Some(other),
        };
    }
    None
}

/// The byte offset of `name` in `s` (searching anonymous members, at most
/// `MAX_NESTING` deep), checked to have `shape`.
fn field(
    btf: &Btf,
    s: &btf_rs::Struct,
    name: &str,
    shape: Shape,
    base_bits: u64,
    depth: u32,
) -> Result<Option<u64>, String> {
    for m in &s.members {
        let mname = btf.resolve_name(m).unwrap_or_default();
        let bits = base_bits + u64::from(m.bit_offset());
        let ty = btf.resolve_chained_type(m).ok().and_then(|t| strip(btf, t));
        if mname == name {
            if m.bitfield_size().is_some_and(|b| b != 0) || !bits.is_multiple_of(8) {
                return Err(format!("field {name} is a bitfield"));
            }
            let ok = match (shape, &ty) {
                (Shape::Int4, Some(Type::Int(i))) => i.size() == 4,
                (Shape::Int4, Some(Type::Enum(e))) => e.size() == 4,
                (Shape::Ptr, Some(Type::Ptr(_))) => true,
                (Shape::Comm, Some(Type::Array(a))) => {
                    a.len() == TASK_COMM_LEN
                        && btf
                            .resolve_chained_type(a)
                            .ok()
                            .and_then(|t| strip(btf, t))
                            .is_some_and(|t| matches!(t, Type::Int(i) if i.size() == 1))
                }
                (Shape::ListHead, Some(Type::Struct(l))) => {
                    btf.resolve_name(l).is_ok_and(|n| n == "list_head")
                }
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "field {name} is not what rshadowctl reads ({})",
                    match shape {
                        Shape::Int4 => "a 4-byte integer",
                        Shape::Ptr => "a pointer",
                        Shape::Comm => "16 chars",
                        Shape::ListHead => "a struct list_head",
                    }
                ));
            }
            return Ok(Some(bits / 8));
        }
        if mname.is_empty()
            && depth < MAX_NESTING
            && let Some(Type::Struct(inner) | Type::Union(inner)) = &ty
            && let Some(o) = field(btf, inner, name, shape, bits, depth + 1)?
        {
            return Ok(Some(o));
        }
    }
    Ok(None)
}

/// Kernel virtual memory of a guest, as the walk reads it.
pub trait KernelMemory {
    /// `len` bytes at kernel virtual address `va`, or `None` where a page
    /// is not mapped or cannot be read.
    fn read(&mut self, va: u64, len: usize) -> Option<Vec<u8>>;
    /// The guest-physical address `va` maps to in the kernel's page tables.
    fn physical(&mut self, va: u64) -> Option<u64>;
}

/// A task as read from the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// The `task_struct`'s address.
    pub addr: u64,
    pub pid: i32,
    pub tgid: i32,
    /// `comm`, with anything but printable ASCII shown as `?`.
    pub comm: String,
    pub flags: u32,
    pub mm: u64,
}

/// A process's address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub task: Task,
    /// `mm->pgd`, a kernel virtual address.
    pub pgd: u64,
    /// The guest-physical address of the top-level table: the CR3.
    pub cr3: u64,
    /// Task-list entries read to find it.
    pub read: usize,
}

/// Why a process's address space was not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// The whole list was read: no process has that id.
    NoSuchProcess { pid: u32, processes: usize },
    /// `mm` is NULL and `PF_KTHREAD` set.
    KernelThread(Task),
    /// `mm` is NULL: the process has exited (a zombie).
    NoAddressSpace(Task),
    /// A guest read failed.
    Unreadable { what: &'static str, addr: u64 },
    /// A pointer from the guest that cannot be one.
    BadPointer { what: &'static str, value: u64 },
    /// An entry came back without passing `init_task` again.
    Loop { at: u64, after: usize },
    /// More than `MAX_TASKS` entries.
    TooMany,
}

impl TaskError {
    /// Whether the list may have been changed while it was read (a task
    /// freed under the walk), so that reading it again may do.
    pub fn retry(&self) -> bool {
        matches!(
            self,
            TaskError::Unreadable { .. } | TaskError::BadPointer { .. } | TaskError::Loop { .. }
        )
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::NoSuchProcess { pid, processes } => write!(
                f,
                "no process {pid} in the guest: none of the {processes} processes on its \
                 task list has that id (ps in the guest lists them; for a thread, give its \
                 process's id, the Tgid of /proc/TID/status)"
            ),
            TaskError::KernelThread(t) => write!(
                f,
                "process {} ({}) is a kernel thread: it has no user address space (its mm \
                 is NULL); the kernel's own addresses are mapped in every address space: \
                 give --ksym, or --pid of a user process",
                t.tgid, t.comm
            ),
            TaskError::NoAddressSpace(t) => write!(
                f,
                "process {} ({}) has no address space (its mm is NULL): it has exited",
                t.tgid, t.comm
            ),
            TaskError::Unreadable { what, addr } => write!(
                f,
                "the guest's task list cannot be read: {what} at {addr:#x} is not mapped \
                 in the kernel's page tables"
            ),
            TaskError::BadPointer { what, value } => write!(
                f,
                "the guest's task list cannot be followed: {what} is {value:#x}, not a \
                 kernel address"
            ),
            TaskError::Loop { at, after } => write!(
                f,
                "the guest's task list loops: entry {at:#x} came back after {after} \
                 entries without reaching init_task"
            ),
            TaskError::TooMany => write!(
                f,
                "the guest's task list has more than {MAX_TASKS} entries: rshadowctl \
                 reads no more"
            ),
        }
    }
}

fn read_bytes<const N: usize>(
    mem: &mut impl KernelMemory,
    va: u64,
    what: &'static str,
) -> Result<[u8; N], TaskError> {
    mem.read(va, N)
        .and_then(|b| b.get(..N).and_then(|b| <[u8; N]>::try_from(b).ok()))
        .ok_or(TaskError::Unreadable { what, addr: va })
}

fn read_u64(mem: &mut impl KernelMemory, va: u64, what: &'static str) -> Result<u64, TaskError> {
    read_bytes::<8>(mem, va, what).map(u64::from_le_bytes)
}

fn read_u32(mem: &mut impl KernelMemory, va: u64, what: &'static str) -> Result<u32, TaskError> {
    read_bytes::<4>(mem, va, what).map(u32::from_le_bytes)
}

/// A pointer the guest gave, checked: in the kernel half, 8-byte aligned.
fn kernel_pointer(value: u64, what: &'static str) -> Result<u64, TaskError> {
    if code::kernel_half(value) && value.is_multiple_of(8) {
        Ok(value)
    } else {
        Err(TaskError::BadPointer { what, value })
    }
}

/// `base + off`, where a wrap means `base` was no pointer.
fn at(base: u64, off: u64, what: &'static str) -> Result<u64, TaskError> {
    base.checked_add(off)
        .ok_or(TaskError::BadPointer { what, value: base })
}

/// `comm` as text: up to its NUL, anything but printable ASCII as `?` (it
/// is the guest's, and goes to a terminal).
pub fn comm_text(b: &[u8]) -> String {
    b.iter()
        .take_while(|&&c| c != 0)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

/// The group leader of process `pid` on the task list that starts at
/// `init_task`, and how many entries were read.
pub fn find_task(
    mem: &mut impl KernelMemory,
    off: &Offsets,
    init_task: u64,
    pid: u32,
) -> Result<(Task, usize), TaskError> {
    let head = at(init_task, off.task_tasks, "init_task")?;
    let mut node = kernel_pointer(
        read_u64(
            mem,
            at(head, off.list_next, "init_task")?,
            "init_task.tasks.next",
        )?,
        "init_task.tasks.next",
    )?;
    let mut seen = HashSet::new();
    let mut n = 0;
    while node != head {
        if n >= MAX_TASKS {
            return Err(TaskError::TooMany);
        }
        if !seen.insert(node) {
            return Err(TaskError::Loop { at: node, after: n });
        }
        n += 1;
        let task = kernel_pointer(node.wrapping_sub(off.task_tasks), "a task on the list")?;
        let tgid = read_u32(mem, at(task, off.task_tgid, "a task")?, "a task's tgid")?;
        if tgid == pid {
            let p = read_u32(mem, at(task, off.task_pid, "a task")?, "the task's pid")?;
            let flags = read_u32(mem, at(task, off.task_flags, "a task")?, "the task's flags")?;
            let mm = read_u64(mem, at(task, off.task_mm, "a task")?, "the task's mm")?;
            let comm = read_bytes::<TASK_COMM_LEN>(
                mem,
                at(task, off.task_comm, "a task")?,
                "the task's comm",
            )
            .map(|b| comm_text(&b))
            .unwrap_or_else(|_| "?".into());
            return Ok((
                Task {
                    addr: task,
                    pid: p as i32,
                    tgid: tgid as i32,
                    comm,
                    flags,
                    mm,
                },
                n,
            ));
        }
        node = kernel_pointer(
            read_u64(
                mem,
                at(node, off.list_next, "a task")?,
                "a task's tasks.next",
            )?,
            "a task's tasks.next",
        )?;
    }
    Err(TaskError::NoSuchProcess { pid, processes: n })
}

/// Process `pid`'s address space: its task, `mm->pgd`, and the CR3.
pub fn find_space(
    mem: &mut impl KernelMemory,
    off: &Offsets,
    init_task: u64,
    pid: u32,
) -> Result<Space, TaskError> {
    let (task, read) = find_task(mem, off, init_task, pid)?;
    if task.mm == 0 {
        return Err(if task.flags & PF_KTHREAD != 0 {
            TaskError::KernelThread(task)
        } else {
            TaskError::NoAddressSpace(task)
        });
    }
    let mm = kernel_pointer(task.mm, "the task's mm")?;
    let pgd = read_u64(
        mem,
        at(mm, off.mm_pgd, "the task's mm")?,
        "the task's mm->pgd",
    )?;
    if !code::kernel_half(pgd) || pgd & 0xfff != 0 {
        return Err(TaskError::BadPointer {
            what: "the task's mm->pgd",
            value: pgd,
        });
    }
    let cr3 = mem.physical(pgd).ok_or(TaskError::Unreadable {
        what: "the task's mm->pgd",
        addr: pgd,
    })?;
    Ok(Space {
        task,
        pgd,
        cr3: cr3 & !0xfff,
        read,
    })
}

/// A guest's kernel memory through foreign mappings, walked with the page
/// tables at `regs.cr3` (any address space maps the kernel).
pub struct GuestKernel<'a> {
    pub xen: &'a mut Xen,
    pub foreign: Foreign,
    pub regs: Regs,
}

impl<'a> GuestKernel<'a> {
    pub fn new(xen: &'a mut Xen, dom: u16, regs: Regs) -> Self {
        GuestKernel {
            xen,
            foreign: Foreign::new(dom, None),
            regs,
        }
    }
}

impl KernelMemory for GuestKernel<'_> {
    fn read(&mut self, va: u64, len: usize) -> Option<Vec<u8>> {
        self.foreign.read_virt(self.xen, &self.regs, va, len)
    }

    fn physical(&mut self, va: u64) -> Option<u64> {
        let (foreign, xen) = (&mut self.foreign, &mut *self.xen);
        walk::translate_with(walk::Paging::of(&self.regs), self.regs.cr3, va, |gpa, w| {
            foreign.read_entry(xen, gpa, w)
        })
        .ok()
        .map(|t| t.gpa)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const OFF: Offsets = Offsets {
        task_tasks: 0x100,
        task_pid: 0x200,
        task_tgid: 0x204,
        task_comm: 0x300,
        task_mm: 0x180,
        task_flags: 0x10,
        mm_pgd: 0x48,
        list_next: 0,
    };
    const INIT: u64 = 0xffff_ffff_8261_0000;
    /// Where the fake direct map puts guest-physical 0.
    const DIRECT: u64 = 0xffff_8880_0000_0000;

    /// A guest kernel's memory: bytes by address; reads of bytes never
    /// written fail, as unmapped pages do.
    #[derive(Default)]
    struct Fake {
        bytes: HashMap<u64, u8>,
        reads: usize,
    }

    impl Fake {
        fn put(&mut self, va: u64, b: &[u8]) {
            for (i, x) in b.iter().enumerate() {
                self.bytes.insert(va + i as u64, *x);
            }
        }
        fn put64(&mut self, va: u64, v: u64) {
            self.put(va, &v.to_le_bytes());
        }
        fn put32(&mut self, va: u64, v: u32) {
            self.put(va, &v.to_le_bytes());
        }
        /// A task at `addr`, its `tasks.next` pointing at `next`'s.
        fn task(&mut self, addr: u64, pid: u32, comm: &str, mm: u64, flags: u32, next: u64) {
            self.put32(addr + OFF.task_pid, pid);
            self.put32(addr + OFF.task_tgid, pid);
            self.put32(addr + OFF.task_flags, flags);
            self.put64(addr + OFF.task_mm, mm);
            let mut c = [0u8; 16];
            c[..comm.len()].copy_from_slice(comm.as_bytes());
            self.put(addr + OFF.task_comm, &c);
            self.put64(addr + OFF.task_tasks + OFF.list_next, next + OFF.task_tasks);
        }
    }

    impl KernelMemory for Fake {
        fn read(&mut self, va: u64, len: usize) -> Option<Vec<u8>> {
            self.reads += 1;
            (0..len as u64)
                .map(|i| self.bytes.get(&va.checked_add(i)?).copied())
                .collect()
        }
        fn physical(&mut self, va: u64) -> Option<u64> {
            va.checked_sub(DIRECT).filter(|p| *p < 1 << 32)
        }
    }

    fn task_addr(i: u64) -> u64 {
        0xffff_8880_0400_0000 + i * 0x4000
    }

    /// init_task (pid 0), then kthreadd-like and user tasks 1..=n, a ring.
    fn ring(n: u64) -> Fake {
        let mut m = Fake::default();
        let first = if n > 0 { task_addr(1) } else { INIT };
        m.task(INIT, 0, "swapper/0", 0, PF_KTHREAD, first);
        for i in 1..=n {
            let next = if i == n { INIT } else { task_addr(i + 1) };
            let mm = if i == 2 {
                0
            } else {
                0xffff_8880_0800_0000 + i * 0x400
            };
            let flags = if i == 2 { PF_KTHREAD } else { 0x40_0100 };
            let name = if i == 2 {
                "kthreadd".to_string()
            } else {
                format!("proc{i}")
            };
            m.task(task_addr(i), i as u32, &name, mm, flags, next);
            if mm != 0 {
                m.put64(mm + OFF.mm_pgd, DIRECT + 0x1234_5000 + i * 0x2000);
            }
        }
        m
    }

    #[test]
    fn finds_a_process_and_its_cr3() {
        let mut m = ring(40);
        let s = find_space(&mut m, &OFF, INIT, 17).unwrap();
        assert_eq!(s.task.addr, task_addr(17));
        assert_eq!((s.task.pid, s.task.tgid), (17, 17));
        assert_eq!(s.task.comm, "proc17");
        assert_eq!(s.pgd, DIRECT + 0x1234_5000 + 17 * 0x2000);
        assert_eq!(s.cr3, 0x1234_5000 + 17 * 0x2000);
        assert_eq!(s.read, 17);
    }

    #[test]
    fn an_unknown_pid_reads_the_whole_list() {
        let mut m = ring(40);
        assert_eq!(
            find_space(&mut m, &OFF, INIT, 99999),
            Err(TaskError::NoSuchProcess {
                pid: 99999,
                processes: 40
            })
        );
        // init_task alone: an empty list
        let mut m = ring(0);
        assert_eq!(
            find_space(&mut m, &OFF, INIT, 1),
            Err(TaskError::NoSuchProcess {
                pid: 1,
                processes: 0
            })
        );
        let e = TaskError::NoSuchProcess {
            pid: 7,
            processes: 3,
        };
        assert!(e.to_string().contains("no process 7"), "{e}");
        assert!(!e.retry());
    }

    #[test]
    fn a_kernel_thread_or_an_exited_process_has_no_mm() {
        let mut m = ring(5);
        let e = find_space(&mut m, &OFF, INIT, 2).unwrap_err();
        assert!(
            matches!(&e, TaskError::KernelThread(t) if t.comm == "kthreadd"),
            "{e:?}"
        );
        assert!(e.to_string().contains("kernel thread"), "{e}");
        assert!(!e.retry());
        // mm NULL without PF_KTHREAD: a process that has exited
        m.put64(task_addr(4) + OFF.task_mm, 0);
        let e = find_space(&mut m, &OFF, INIT, 4).unwrap_err();
        assert!(matches!(e, TaskError::NoAddressSpace(_)), "{e:?}");
        assert!(e.to_string().contains("exited"), "{e}");
    }

    #[test]
    fn a_loop_that_misses_init_task_is_caught() {
        let mut m = ring(10);
        // task 10 points back at task 4, not at init_task
        m.put64(
            task_addr(10) + OFF.task_tasks,
            task_addr(4) + OFF.task_tasks,
        );
        let e = find_space(&mut m, &OFF, INIT, 500).unwrap_err();
        assert_eq!(
            e,
            TaskError::Loop {
                at: task_addr(4) + OFF.task_tasks,
                after: 10
            }
        );
        assert!(e.retry());
        assert!(e.to_string().contains("loops"), "{e}");
        // a task pointing at itself
        let mut m = ring(3);
        m.put64(task_addr(1) + OFF.task_tasks, task_addr(1) + OFF.task_tasks);
        assert!(matches!(
            find_space(&mut m, &OFF, INIT, 3),
            Err(TaskError::Loop { after: 1, .. })
        ));
    }

    #[test]
    fn bad_pointers_are_errors_not_panics() {
        for (what, bad) in [
            ("user-half next", 0x0000_7fff_1234_5000u64),
            ("NULL next", 0),
            ("unaligned next", 0xffff_8880_0400_0101),
            ("top of memory", u64::MAX - 7),
            ("unmapped next", 0xffff_c900_dead_0000),
        ] {
            let mut m = ring(5);
            m.put64(task_addr(3) + OFF.task_tasks, bad);
            let e = find_space(&mut m, &OFF, INIT, 5).unwrap_err();
            assert!(
                matches!(
                    e,
                    TaskError::BadPointer { .. } | TaskError::Unreadable { .. }
                ),
                "{what}: {e:?}"
            );
            assert!(e.retry(), "{what}");
            assert!(e.to_string().contains("task list"), "{what}: {e}");
        }
        // init_task unreadable (the symbols are another kernel's)
        let mut m = ring(2);
        assert!(matches!(
            find_space(&mut m, &OFF, INIT + 0x20_0000, 1),
            Err(TaskError::Unreadable { .. })
        ));
        // an mm, or a pgd, that is no kernel pointer; a pgd that does not
        // translate
        let mut m = ring(5);
        m.put64(task_addr(3) + OFF.task_mm, 0x1000);
        assert!(matches!(
            find_space(&mut m, &OFF, INIT, 3),
            Err(TaskError::BadPointer {
                what: "the task's mm",
                ..
            })
        ));
        let mut m = ring(5);
        let mm = 0xffff_8880_0800_0000 + 3 * 0x400;
        m.put64(mm + OFF.mm_pgd, DIRECT + 0x1234_5008);
        assert!(matches!(
            find_space(&mut m, &OFF, INIT, 3),
            Err(TaskError::BadPointer {
                what: "the task's mm->pgd",
                ..
            })
        ));
        m.put64(mm + OFF.mm_pgd, 0xffff_ffff_ff00_0000);
        assert!(matches!(
            find_space(&mut m, &OFF, INIT, 3),
            Err(TaskError::Unreadable {
                what: "the task's mm->pgd",
                ..
            })
        ));
        // a task's fields unreadable
        let mut m = ring(5);
        m.bytes.remove(&(task_addr(4) + OFF.task_tgid));
        assert!(matches!(
            find_space(&mut m, &OFF, INIT, 5),
            Err(TaskError::Unreadable {
                what: "a task's tgid",
                ..
            })
        ));
    }

    #[test]
    fn the_walk_is_bounded() {
        // An endless list that never repeats an entry: each read of a next
        // pointer gives a new task.
        struct Endless;
        impl KernelMemory for Endless {
            fn read(&mut self, va: u64, len: usize) -> Option<Vec<u8>> {
                let v = if (va & 0xfff) == OFF.task_tasks {
                    // next: the next 4 KiB block's tasks
                    (va & !0xfff) + 0x1000 + OFF.task_tasks
                } else {
                    1 // tgid 1 everywhere, pid searched is 2
                };
                Some(v.to_le_bytes()[..len.min(8)].to_vec())
            }
            fn physical(&mut self, _: u64) -> Option<u64> {
                None
            }
        }
        let e = find_space(&mut Endless, &OFF, 0xffff_8880_0000_0000, 2).unwrap_err();
        assert_eq!(e, TaskError::TooMany);
    }

    #[test]
    fn comm_is_printable() {
        assert_eq!(comm_text(b"target\0\0\0garbage"), "target");
        assert_eq!(comm_text(b"a\x1b[2Jb\xff"), "a?[2Jb?");
        assert_eq!(comm_text(b"sixteen chars!!!"), "sixteen chars!!!");
    }

    /// A small BTF blob: `list_head`, `mm_struct` with `pgd` inside an
    /// anonymous struct (as 6.1 has it), and `task_struct`.
    fn btf_blob(pid_size: u32, with_mm_pgd: bool) -> Vec<u8> {
        let mut strs = vec![0u8];
        let mut name = |s: &str| {
            let o = strs.len() as u32;
            strs.extend_from_slice(s.as_bytes());
            strs.push(0);
            o
        };
        let (n_int, n_char, n_list, n_next, n_prev) = (
            name("int"),
            name("char"),
            name("list_head"),
            name("next"),
            name("prev"),
        );
        let (n_mm, n_pgd, n_users, n_task) = (
            name("mm_struct"),
            name("pgd"),
            name("mm_users"),
            name("task_struct"),
        );
        let (n_tasks, n_pid, n_tgid, n_comm, n_mmf, n_flags, n_pidt) = (
            name("tasks"),
            name("pid"),
            name("tgid"),
            name("comm"),
            name("mm"),
            name("flags"),
            name("pid_t"),
        );
        let mut t: Vec<u32> = Vec::new();
        let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
        // 1: int (4 bytes, signed)
        t.extend([n_int, info(1, 0), 4, (1 << 24) | 32]);
        // 2: char (1 byte)
        t.extend([n_char, info(1, 0), 1, (2 << 24) | 8]);
        // 3: struct list_head { struct list_head *next, *prev; }
        t.extend([n_list, info(4, 2), 16, n_next, 4, 0, n_prev, 4, 64]);
        // 4: struct list_head *
        t.extend([0, info(2, 0), 3]);
        // 5: void * (pgd_t * stands in)
        t.extend([0, info(2, 0), 0]);
        // 6: anonymous struct { int mm_users; void *pgd; }
        if with_mm_pgd {
            t.extend([0, info(4, 2), 16, n_users, 1, 0, n_pgd, 5, 64]);
        } else {
            t.extend([0, info(4, 1), 16, n_users, 1, 0]);
        }
        // 7: struct mm_struct { <6> at 0x40 }
        t.extend([n_mm, info(4, 1), 0x80, 0, 6, 0x40 * 8]);
        // 8: struct mm_struct *
        t.extend([0, info(2, 0), 7]);
        // 9: char[16]
        t.extend([0, info(3, 0), 0, 2, 1, 16]);
        // 10: typedef int pid_t (or a 2-byte int for a wrong BTF)
        t.extend([n_pidt, info(8, 0), if pid_size == 4 { 1 } else { 11 }]);
        // 11: a 2-byte int
        t.extend([n_int, info(1, 0), 2, (1 << 24) | 16]);
        // 12: struct task_struct { flags, tasks, mm, pid, tgid, comm }
        t.extend([n_task, info(4, 6), 0x400]);
        t.extend([n_flags, 1, 0x10 * 8]);
        t.extend([n_tasks, 3, 0x100 * 8]);
        t.extend([n_mmf, 8, 0x180 * 8]);
        t.extend([n_pid, 10, 0x200 * 8]);
        t.extend([n_tgid, 10, 0x204 * 8]);
        t.extend([n_comm, 9, 0x300 * 8]);
        let types: Vec<u8> = t.iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut b = Vec::new();
        b.extend([0x9f, 0xeb, 1, 0]);
        for x in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strs.len() as u32,
        ] {
            b.extend(x.to_le_bytes());
        }
        b.extend(&types);
        b.extend(&strs);
        b
    }

    #[test]
    fn offsets_from_btf_through_anonymous_members() {
        let o = Offsets::from_btf_bytes(&btf_blob(4, true)).unwrap();
        assert_eq!(
            o,
            Offsets {
                mm_pgd: 0x48,
                ..OFF
            }
        );
    }

    #[test]
    fn btf_without_the_fields_or_not_btf_is_refused() {
        let e = Offsets::from_btf_bytes(&btf_blob(4, false)).unwrap_err();
        assert!(e.contains("mm_struct has no field pgd"), "{e}");
        let e = Offsets::from_btf_bytes(&btf_blob(2, true)).unwrap_err();
        assert!(e.contains("field pid is not"), "{e}");
        assert!(
            Offsets::from_btf_bytes(b"ffffffff81000000 T _stext\n")
                .unwrap_err()
                .contains("not a BTF file")
        );
        assert!(Offsets::from_btf_bytes(&[]).is_err());
        // a file cut short: refused, not read forever
        let mut b = btf_blob(4, true);
        b.truncate(b.len() - 10);
        assert!(
            Offsets::from_btf_bytes(&b)
                .unwrap_err()
                .contains("cut short"),
            "truncated"
        );
        // BTF of something else: no task_struct
        let mut b = btf_blob(4, true);
        let at = b.windows(12).position(|w| w == b"task_struct\0").unwrap();
        b[at] = b'x';
        assert!(
            Offsets::from_btf_bytes(&b)
                .unwrap_err()
                .contains("no struct task_struct")
        );
    }

    /// The running kernel's own BTF, where this machine has one: every
    /// field is found, the list_head first.
    #[test]
    fn offsets_from_this_machines_kernel() {
        let Ok(b) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            return;
        };
        let o = Offsets::from_btf_bytes(&b).unwrap();
        assert_eq!(o.list_next, 0);
        assert_ne!(o.task_tasks, 0);
        assert_ne!(o.mm_pgd, 0);
        assert_eq!(o.task_tgid, o.task_pid + 4);
    }
}
