//! rshadowctl: rust-shadow's command-line tool for a Linux dom0.

use rshadowctl::{abi, args, code, errors, format, tasks, walk, xen, xenstore};

use tasks::KernelMemory;

use args::Frames;
use clap::{Parser, Subcommand};
use errors::{Failure, Request, exit};
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  unexpected failure (an errno Xen does not document, an I/O error)
  2  bad command line: refused before any hypercall
  3  no hypercalls: not a Xen domain, xen-privcmd not loaded, or not root
  4  this hypervisor has no rust-shadow (ENOSYS)
  5  Xen denied this domain the operation (EPERM, EACCES)
  6  the domain cannot be used so (ESRCH, ENODEV, EOPNOTSUPP, EEXIST, ENXIO)
  7  Xen refused the request (EINVAL, E2BIG, ERANGE, EADDRNOTAVAIL, EFAULT,
     EBUSY, ENOSPC, ENOENT); or the guest does not have what was named: an
     address not mapped, symbols not its kernel's, no process --pid, or
     --pid a kernel thread

A domain is its id or its name as xl shows it (names are read from
xenstore). Frames are guest frame numbers (GFNs), decimal or 0x-hex: GFN,
FIRST-LAST (inclusive) or FIRST+COUNT. Access is any of r (reads),
w (writes), x (instruction fetches). A guest virtual address (--va) is
resolved to its frame by walking the guest's page tables at --cr3 from
here (2-level, PAE, 4- and 5-level paging); rshadowctl vcpus shows the CR3s
the vCPUs run now. Or --pid PID names a process of a Linux guest: its task is
found in the guest kernel's task list (init_task and linux_banner from
--symbols, KASLR's slide found; the structure offsets from the kernel's BTF,
--btf), and its mm->pgd is the CR3. The frame is resolved once: if the guest
later maps the address elsewhere, watch it again.

Examples:
  rshadowctl enable guest1 --ring 4096
  rshadowctl watch guest1 0x1a0-0x1a3 rw --steps 8
  rshadowctl vcpus guest1
  rshadowctl watch guest1 w --va 0x7f5a12345000 --cr3 0x5a48000 --steps 8
  rshadowctl translate guest1 --va 0x7f5a12345000 --pid 1234 --btf vmlinux.btf --symbols kallsyms
  rshadowctl list guest1
  rshadowctl trace guest1 --cr3 0x5a48000
  rshadowctl trace 0 --pid 1234 --once --json
  rshadowctl unwatch guest1 0x1a0-0x1a3
  rshadowctl disable guest1";

/// Watch guest frames of an HVM/PVH domain on shadow paging, and trace
/// every access to them and the instructions after it (rust-shadow's
/// XEN_DOMCTL_rshadow_op, through /dev/xen/privcmd).
#[derive(Parser, Debug)]
#[command(name = "rshadowctl", version, after_help = EXIT_CODES, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Turn rust-shadow on for a domain, with a trace ring per vCPU.
    Enable {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// Records per vCPU ring: a power of two from 16 to 65536.
        #[arg(short, long, default_value = "1024", value_parser = args::parse_ring)]
        ring: u32,
    },
    /// Turn rust-shadow off for a domain: removes every watch, frees the rings.
    Disable {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
    },
    /// Remove every watch, empty the traces, zero the statistics.
    Reset {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
    },
    /// Watch a frame or a range of frames, or the page of an address.
    Watch {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// FRAMES: GFN, FIRST-LAST or FIRST+COUNT (at most 2^20 frames), left
        /// out with --va or --ksym.  ACCESS: any of r, w, x (default rw).
        #[arg(value_name = "FRAMES|ACCESS", num_args = 0..=2,
              required_unless_present_any = ["va", "ksym"],
              value_parser = args::parse_watch_arg)]
        args: Vec<args::WatchArg>,
        #[command(flatten)]
        at: At,
        /// Instructions to single-step and record after each access (0-4096).
        #[arg(short, long, default_value = "0", value_parser = args::parse_steps)]
        steps: u32,
    },
    /// Stop watching a range, given exactly as it was watched (or by address).
    Unwatch {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// GFN, FIRST-LAST or FIRST+COUNT, exactly as watched; left out with
        /// --va or --ksym.
        #[arg(value_parser = args::parse_frames,
              required_unless_present_any = ["va", "ksym"],
              conflicts_with_all = ["va", "ksym"])]
        frames: Option<Frames>,
        #[command(flatten)]
        at: At,
    },
    /// Move a watch to the frame an address maps now.  A `--va` (or
    /// `--ksym`) watch is resolved once; when the guest moves the page
    /// without Xen seeing it (it swapped it out and in, or freed the frame
    /// and reuses it), this re-resolves the address and, if it maps another
    /// frame than the watched one, watches that frame instead, with the same
    /// access and steps.
    Rewatch {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// The watched range to move, exactly as `list` shows it.
        #[arg(value_parser = args::parse_frames)]
        frames: Frames,
        #[command(flatten)]
        at: At,
    },
    /// Show the frame an address maps to, walking the guest's page tables
    /// from here.
    Translate {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        #[command(flatten)]
        at: At,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Show each vCPU's control registers and paging mode now: the CR3 of
    /// the address space it runs.
    Vcpus {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// One JSON object per vCPU.
        #[arg(long)]
        json: bool,
    },
    /// List the watched ranges.
    List {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show the statistics.
    Stats {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Stream (and consume) the trace records until interrupted: each access
    /// with its instruction, then its steps, each disassembled where its code
    /// can be read.
    #[command(after_help = "\
Reading: every vCPU's ring is drained, then the trace sleeps until Xen
signals that records wait (the domain's NOTIFY event channel, through
/dev/xen/evtchn); without one it says so and polls every --interval ms.
The vCPUs' records are merged in time order, each held until a record
--window ms newer was read or the trace was quiet that long.  Ctrl-C prints
every record read, then exits.  A watch Xen switched off because a frame of
it left the guest's memory is reported once (\"watch ... is gone\").

Disassembly: a record carries RIP, CPU mode and the CR3 it ran in (PCID and
flag bits masked), and the code is read when the trace is read, so it is
read only where its owner is known:
  - exec records carry their first bytes;
  - domain 0 (taken to be the domain rshadowctl runs in): a CPL-0 record with
    a kernel-half RIP is read from /proc/kcore (the kernel is mapped the same
    in every process);
  - with --pid PID (dom0 watching its own process PID): a CPL-3 record is read
    from /proc/PID/mem when its window was opened by an access that PID's page
    tables (/proc/PID/pagemap) map to the recorded frame, and nothing in the
    window ran at another CPL since;
  - another domain, for records in long mode: read through foreign mappings
    of its frames, walking the page tables at the record's own CR3: for a
    CPL-0 record with a kernel-half RIP, and for CPL-3 records by the --pid
    rule, with \"maps to the recorded frame\" checked in that address space.
Anything else shows \"(code not readable)\" (JSON: \"insn\": null).")]
    Trace {
        /// Domain id or name.
        #[arg(value_parser = args::parse_domain)]
        domid: args::Domain,
        /// Only this vCPU (default: every vCPU).
        #[arg(long, value_parser = args::parse_vcpu)]
        vcpu: Option<u32>,
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
        /// Drain what is recorded now, then exit.
        #[arg(long)]
        once: bool,
        /// Exit after this many records.
        #[arg(long, value_parser = args::parse_count)]
        count: Option<u64>,
        /// Poll interval in milliseconds (1-60000), where Xen cannot signal
        /// (no event channel); otherwise the trace sleeps until signalled.
        #[arg(long, default_value = "100", value_parser = args::parse_interval)]
        interval: u64,
        /// How long, in milliseconds (1-60000), a record is held for the
        /// vCPUs' records to be merged in time order: it is printed once a
        /// record that much newer was read, or the trace was quiet as long.
        #[arg(long, default_value = "100", value_parser = args::parse_interval)]
        window: u64,
        /// A process whose records alone to print.  Domain 0: a process of
        /// this domain, its CPL-3 code read through /proc.  Another domain:
        /// a process of its Linux kernel, found in its task list (with --btf
        /// and --symbols, as for `translate --pid`), whose address space is
        /// then the --cr3.
        #[arg(long, value_parser = args::parse_pid, conflicts_with = "cr3")]
        pid: Option<u32>,
        /// With --pid for another domain: its kernel's BTF (a copy of the
        /// guest's /sys/kernel/btf/vmlinux).
        #[arg(long, value_name = "FILE", requires = "pid")]
        btf: Option<std::path::PathBuf>,
        /// Another domain: print only the records that ran in the address
        /// space at this CR3 (see `rshadowctl vcpus`; PCID bits ignored).
        #[arg(long, value_parser = args::parse_cr3)]
        cr3: Option<u64>,
        /// Kernel symbols (a System.map or a copy of /proc/kallsyms) to name
        /// kernel-half RIPs with; domain 0 uses /proc/kallsyms by default.
        #[arg(long, value_name = "FILE")]
        symbols: Option<std::path::PathBuf>,
    },
}

/// The most vCPUs an HVM domain has (`HVM_MAX_VCPUS` in Xen 4.17 is 128;
/// this leaves room).
const MAX_VCPUS: u32 = 4096;

/// An address instead of frame numbers.
#[derive(clap::Args, Debug, Clone)]
struct At {
    /// A guest virtual address, in the address space at --cr3, or of the
    /// guest's process --pid.
    #[arg(long, value_parser = args::parse_va, requires = "space", conflicts_with = "ksym")]
    va: Option<u64>,
    /// A kernel symbol (a variable, say), from --symbols, found in the running
    /// kernel wherever KASLR put it.
    #[arg(long, value_name = "NAME", requires = "symbols")]
    ksym: Option<String>,
    /// The address space: a CR3 value (PCID bits ignored).  With --ksym,
    /// vCPU 0's current one by default.
    #[arg(long, value_parser = args::parse_cr3, group = "space")]
    cr3: Option<u64>,
    /// The address space of the guest's process PID (a Linux guest; the id ps
    /// shows there): its task is found in the kernel's task list, and its
    /// mm->pgd is the CR3.  Needs --btf and --symbols.
    #[arg(long, value_parser = args::parse_pid, group = "space",
          requires_all = ["va", "btf", "symbols"], conflicts_with = "ksym")]
    pid: Option<u32>,
    /// The guest kernel's BTF, for --pid: a copy of its
    /// /sys/kernel/btf/vmlinux (dom0's own where dom0 runs the same kernel
    /// build), from which the offsets of task_struct's and mm_struct's fields
    /// are taken.
    #[arg(long, value_name = "FILE", requires = "pid")]
    btf: Option<std::path::PathBuf>,
    /// The kernel's symbols for --ksym and --pid: a System.map, or a copy of
    /// its /proc/kallsyms (with linux_banner, by which KASLR's offset is
    /// found, and for --pid init_task).
    #[arg(long, value_name = "FILE")]
    symbols: Option<std::path::PathBuf>,
}

impl At {
    fn address(&self) -> Result<Option<args::Address>, Failure> {
        args::Address::from_options(self.va, self.ksym.as_deref(), self.cr3, self.pid)
            .map_err(usage)
    }

    /// The symbols --symbols must have: the symbol --ksym names, or
    /// --pid's init_task; and linux_banner, for KASLR's offset.
    fn symbols_needed(&self) -> Vec<&str> {
        match (&self.ksym, self.pid) {
            (Some(name), _) => vec![name.as_str(), "linux_banner"],
            (None, Some(_)) => vec!["init_task", "linux_banner"],
            (None, None) => Vec::new(),
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli.cmd) {
        Ok(()) => exit::OK,
        Err(f) => {
            let _ = std::io::stdout().flush();
            eprintln!("rshadowctl: {}", f.message);
            f.code
        }
    };
    std::process::exit(code);
}

fn usage(msg: impl Into<String>) -> Failure {
    Failure::new(exit::USAGE, msg)
}

impl Cmd {
    fn domain(&self) -> &args::Domain {
        match self {
            Cmd::Enable { domid, .. }
            | Cmd::Disable { domid }
            | Cmd::Reset { domid }
            | Cmd::Watch { domid, .. }
            | Cmd::Unwatch { domid, .. }
            | Cmd::Rewatch { domid, .. }
            | Cmd::Translate { domid, .. }
            | Cmd::Vcpus { domid, .. }
            | Cmd::List { domid, .. }
            | Cmd::Stats { domid, .. }
            | Cmd::Trace { domid, .. } => domid,
        }
    }
}

/// The domain id a command names, looking a name up in xenstore.
fn resolve(d: &args::Domain) -> Result<u16, Failure> {
    match d {
        args::Domain::Id(id) => Ok(*id),
        args::Domain::Name(name) => {
            let xs = xenstore::Xenstore::open().ok_or_else(|| {
                Failure::new(
                    exit::NO_HYPERCALLS,
                    format!(
                        "domain '{name}': cannot read domain names from xenstore (is xenstored \
                         running, and this dom0 with its xen modules?); give the domain id"
                    ),
                )
            })?;
            let all = xs.domains();
            xenstore::lookup(&all, name).ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|(_, n)| n.as_str()).collect();
                Failure::new(
                    exit::DOMAIN_STATE,
                    format!(
                        "there is no domain named '{name}' (domains: {}) [ESRCH]",
                        names.join(", ")
                    ),
                )
            })
        }
    }
}

/// A symbols file, read and parsed, or a usage error.
fn load_symbols(f: &std::path::Path) -> Result<code::Symbols, Failure> {
    let text =
        std::fs::read_to_string(f).map_err(|e| usage(format!("--symbols {}: {e}", f.display())))?;
    let s = code::Symbols::parse(&text);
    if s.is_empty() {
        return Err(usage(format!(
            "--symbols {}: no symbols in it (give a System.map, or a copy of \
             /proc/kallsyms read as root)",
            f.display()
        )));
    }
    Ok(s)
}

/// A kernel's BTF, read and its structure offsets found, or a usage error.
fn load_btf(f: &std::path::Path) -> Result<tasks::Offsets, Failure> {
    let bytes = std::fs::read(f).map_err(|e| usage(format!("--btf {}: {e}", f.display())))?;
    tasks::Offsets::from_btf_bytes(&bytes).map_err(|e| {
        usage(format!(
            "--btf {}: {e} (give the guest kernel's /sys/kernel/btf/vmlinux)",
            f.display()
        ))
    })
}

fn run(cmd: Cmd) -> Result<(), Failure> {
    // Cross-argument checks, still before any hypercall.
    let watch = match &cmd {
        Cmd::Watch { args, at, .. } => {
            Some(args::watch_target(args, at.address()?).map_err(usage)?)
        }
        _ => None,
    };
    let at = match &cmd {
        Cmd::Watch { at, .. }
        | Cmd::Unwatch { at, .. }
        | Cmd::Rewatch { at, .. }
        | Cmd::Translate { at, .. } => at.address()?,
        _ => None,
    };
    if let Cmd::Rewatch { .. } = &cmd
        && at.is_none()
    {
        return Err(usage(
            "rewatch needs the address to follow: --va ADDR with --cr3 CR3 or --pid PID \
             --btf FILE --symbols FILE, or --ksym NAME --symbols FILE",
        ));
    }
    if let Cmd::Translate { .. } = &cmd
        && at.is_none()
    {
        return Err(usage(
            "translate needs --va ADDR --cr3 CR3, --va ADDR --pid PID --btf FILE --symbols FILE, \
             or --ksym NAME --symbols FILE",
        ));
    }
    // Kernel symbols, loaded (or refused) before any hypercall.
    let symbols = match &cmd {
        Cmd::Trace {
            symbols: Some(f), ..
        } => Some(load_symbols(f)?),
        Cmd::Watch { at, .. }
        | Cmd::Unwatch { at, .. }
        | Cmd::Rewatch { at, .. }
        | Cmd::Translate { at, .. } => match (at.symbols_needed(), &at.symbols) {
            (needed, Some(f)) if !needed.is_empty() => {
                let s = load_symbols(f)?;
                for n in needed {
                    if s.address_of(n).is_none() {
                        return Err(usage(format!(
                            "--symbols {}: no symbol {n} in it{}",
                            f.display(),
                            match n {
                                "linux_banner" => {
                                    " (rshadowctl finds the kernel's KASLR offset by it)"
                                }
                                "init_task" if at.pid.is_some() => {
                                    " (--pid reads the kernel's task list from it)"
                                }
                                _ => "",
                            }
                        )));
                    }
                }
                Some(s)
            }
            _ => None,
        },
        _ => None,
    };
    // The guest kernel's structure offsets for --pid, from its BTF.
    let offsets = match &cmd {
        Cmd::Watch { at, .. }
        | Cmd::Unwatch { at, .. }
        | Cmd::Rewatch { at, .. }
        | Cmd::Translate { at, .. } => match &at.btf {
            Some(f) => Some(load_btf(f)?),
            None => None,
        },
        _ => None,
    };
    let domid = resolve(cmd.domain())?;
    if let Cmd::Trace {
        pid: Some(_),
        btf,
        symbols,
        ..
    } = &cmd
        && domid != 0
        && (btf.is_none() || symbols.is_none())
    {
        return Err(usage(
            "trace --pid for another domain needs --btf FILE and --symbols FILE (its kernel's \
             BTF and symbols, to find the process in its task list); for domain 0 (dom0 \
             watching itself) --pid names a process of this domain",
        ));
    }
    if let Cmd::Trace { btf: Some(_), .. } = &cmd
        && domid == 0
    {
        return Err(usage("--btf applies to another domain's processes"));
    }
    if let Cmd::Trace { pid: Some(p), .. } = &cmd
        && domid == 0
        && !std::path::Path::new(&format!("/proc/{p}")).exists()
    {
        return Err(usage(format!("--pid {p}: there is no process {p}")));
    }
    if let Cmd::Trace { cr3: Some(_), .. } = &cmd
        && domid == 0
    {
        return Err(usage(
            "--cr3 applies to another domain; for domain 0's own processes give --pid",
        ));
    }
    let symbols = match symbols {
        Some(s) => s,
        None if domid == 0 && matches!(cmd, Cmd::Trace { .. }) => {
            std::fs::read_to_string("/proc/kallsyms")
                .map(|t| code::Symbols::parse(&t))
                .unwrap_or_default()
        }
        None => code::Symbols::default(),
    };
    let mut xen = xen::Xen::open()?;
    match cmd {
        Cmd::Enable { ring, .. } => {
            let req = Request::Enable { dom: domid, ring };
            xen.enable(domid, ring)
                .map_err(|e| errors::explain(&req, e.0))?;
            println!("rust-shadow enabled for domain {domid}, {ring} records per vCPU");
        }
        Cmd::Disable { .. } => {
            xen.simple(domid, abi::Op::Disable)
                .map_err(|e| errors::explain(&Request::Disable { dom: domid }, e.0))?;
            println!("rust-shadow disabled for domain {domid}");
        }
        Cmd::Reset { .. } => {
            xen.simple(domid, abi::Op::Reset)
                .map_err(|e| errors::explain(&Request::Reset { dom: domid }, e.0))?;
            println!("rust-shadow reset for domain {domid}");
        }
        Cmd::Watch { steps, .. } => {
            let Some((target, access)) = watch else {
                unreachable!("parsed above for every watch")
            };
            let frames = match target {
                args::WatchTarget::Frames(f) => f,
                args::WatchTarget::Address(a) => {
                    let t = locate(&mut xen, domid, &a, Some(&symbols), offsets.as_ref())?.t;
                    Frames {
                        first: t.gpa >> 12,
                        nr: 1,
                    }
                }
            };
            let req = Request::Watch {
                dom: domid,
                frames,
                access,
                steps,
            };
            let w = abi::Watch {
                first_gfn: frames.first,
                nr_frames: frames.nr,
                access,
                steps,
                flags: 0,
                pad: 0,
            };
            xen.watch(domid, abi::Op::AddWatch, w)
                .map_err(|e| errors::explain(&req, e.0))?;
            println!(
                "domain {domid}: watching {frames} ({}), {steps} steps",
                args::access_string(access)
            );
        }
        Cmd::Unwatch { frames, .. } => {
            let frames = match (frames, &at) {
                (Some(f), _) => f,
                (None, Some(a)) => {
                    let t = locate(&mut xen, domid, a, Some(&symbols), offsets.as_ref())?.t;
                    Frames {
                        first: t.gpa >> 12,
                        nr: 1,
                    }
                }
                (None, None) => return Err(usage("give the frames, --va or --ksym")),
            };
            let req = Request::Unwatch { dom: domid, frames };
            let w = abi::Watch {
                first_gfn: frames.first,
                nr_frames: frames.nr,
                ..Default::default()
            };
            xen.watch(domid, abi::Op::RemoveWatch, w)
                .map_err(|e| errors::explain(&req, e.0))?;
            println!("domain {domid}: no longer watching {frames}");
        }
        Cmd::Rewatch { frames, .. } => {
            let Some(a) = &at else {
                unreachable!("refused above without an address")
            };
            rewatch(&mut xen, domid, frames, a, &symbols, offsets.as_ref())?;
        }
        Cmd::Translate { json, .. } => {
            let Some(a) = &at else {
                unreachable!("refused above without an address")
            };
            if json {
                let r = resolve_address(&mut xen, domid, a, Some(&symbols), offsets.as_ref())?;
                let mut j = format::translation_json(&r.t);
                if let (Some(p), Some(o)) = (&r.process, j.as_object_mut()) {
                    for (k, v) in [
                        ("pid", serde_json::json!(p.task.tgid)),
                        ("comm", serde_json::json!(p.task.comm)),
                        ("task", serde_json::json!(format!("{:#x}", p.task.addr))),
                        ("mm", serde_json::json!(format!("{:#x}", p.task.mm))),
                        ("pgd", serde_json::json!(format!("{:#x}", p.pgd))),
                    ] {
                        o.insert(k.into(), v);
                    }
                }
                println!("{j}");
            } else {
                locate(&mut xen, domid, a, Some(&symbols), offsets.as_ref())?;
            }
        }
        Cmd::Vcpus { json, .. } => {
            // Until Xen has no CPU record for the next vCPU; bounded by the
            // most vCPUs an HVM domain can have.
            for v in 0..MAX_VCPUS {
                match xen.control_registers(domid, v) {
                    Ok(cr) if json => println!("{}", format::vcpu_json(v, &cr)),
                    Ok(cr) => println!("{}", format::vcpu_text(v, &cr)),
                    Err(e) if (e.0 == libc::ENOENT || e.0 == libc::EINVAL) && v > 0 => break,
                    // A vCPU not brought up yet.
                    Err(e) if e.0 == libc::ENODATA && json => {
                        println!("{}", serde_json::json!({ "vcpu": v, "up": false }))
                    }
                    Err(e) if e.0 == libc::ENODATA => println!("vcpu {v}: not up"),
                    Err(e) => {
                        return Err(errors::explain(&Request::Vcpus { dom: domid }, e.0));
                    }
                }
            }
        }
        Cmd::List { json, .. } => {
            let ws = xen
                .list(domid)
                .map_err(|e| errors::explain(&Request::List { dom: domid }, e.0))?;
            if json {
                for w in &ws {
                    println!("{}", format::watch_json(w));
                }
            } else {
                println!("{}", format::WATCH_HEADER);
                for w in &ws {
                    println!("{}", format::watch_text(w));
                }
                let frames: u64 = ws.iter().map(|w| w.nr_frames).sum();
                println!("{} ranges, {frames} frames", ws.len());
            }
        }
        Cmd::Stats { json, .. } => {
            let s = xen
                .stats(domid)
                .map_err(|e| errors::explain(&Request::Stats { dom: domid }, e.0))?;
            if json {
                println!("{}", format::stats_json(&s));
            } else {
                println!("{}", format::stats_text(&s));
            }
        }
        Cmd::Trace {
            vcpu,
            json,
            once,
            count,
            interval,
            window,
            mut pid,
            mut cr3,
            symbols: ref file,
            ref btf,
            ..
        } => {
            let mut symbols = symbols;
            // Another domain's process: its address space, from its task
            // list, is the --cr3.
            if let (Some(p), Some(f), true) = (pid, btf, domid != 0) {
                let off = load_btf(f)?;
                let req = Request::Process {
                    dom: domid,
                    va: 0,
                    pid: p,
                };
                let regs = xen
                    .control_registers(domid, 0)
                    .map_err(|e| errors::explain(&req, e.0))?;
                let (space, how) = process_space(&mut xen, domid, &req, p, &symbols, &off, regs)?;
                eprintln!("rshadowctl: {how}");
                cr3 = Some(space.cr3);
                pid = None;
            }
            // Another domain's symbols: name its RIPs wherever KASLR put
            // its kernel (found by linux_banner, as --ksym does).
            if let (Some(_), Some(banner)) = (file, symbols.address_of("linux_banner"))
                && domid != 0
                && let Ok(mut regs) = xen.control_registers(domid, 0)
            {
                if let Some(c) = cr3 {
                    regs.cr3 = c;
                }
                let mut f = code::Foreign::new(domid, None);
                match code::find_slide(banner, |va| {
                    f.read_virt(&mut xen, &regs, va, code::BANNER.len())
                }) {
                    Some(slide) => symbols.set_slide(slide),
                    None => eprintln!(
                        "rshadowctl: warning: linux_banner is not where --symbols says at any \
                         KASLR offset; naming RIPs as the file has them"
                    ),
                }
            }
            trace(
                &mut xen, domid, vcpu, json, once, count, interval, window, pid, cr3, &symbols,
            )?;
        }
    }
    Ok(())
}

/// `rewatch`: the watch `old` moved to the frame `a` maps now, or left
/// where it is if that is its frame still.
fn rewatch(
    xen: &mut xen::Xen,
    dom: u16,
    old: Frames,
    a: &args::Address,
    symbols: &code::Symbols,
    offsets: Option<&tasks::Offsets>,
) -> Result<(), Failure> {
    let list = xen
        .list(dom)
        .map_err(|e| errors::explain(&Request::List { dom }, e.0))?;
    let Some(w) = list
        .iter()
        .find(|w| w.first_gfn == old.first && w.nr_frames == old.nr)
    else {
        return Err(Failure::new(
            exit::REFUSED,
            format!("domain {dom} has no watch {old} (rshadowctl list {dom} shows them) [ENOENT]"),
        ));
    };
    let t = locate(xen, dom, a, Some(symbols), offsets)?.t;
    let new = Frames {
        first: t.gpa >> 12,
        nr: 1,
    };
    let (access, steps) = (w.access, w.steps);
    if old == new && w.flags & abi::WATCH_DISABLED == 0 {
        println!("domain {dom}: the address still maps {old}; the watch stays");
        return Ok(());
    }
    let remove = Request::Unwatch { dom, frames: old };
    let mut ow = abi::Watch {
        first_gfn: old.first,
        nr_frames: old.nr,
        ..Default::default()
    };
    xen.watch(dom, abi::Op::RemoveWatch, ow)
        .map_err(|e| errors::explain(&remove, e.0))?;
    let add = Request::Watch {
        dom,
        frames: new,
        access,
        steps,
    };
    let nw = abi::Watch {
        first_gfn: new.first,
        nr_frames: new.nr,
        access,
        steps,
        ..Default::default()
    };
    if let Err(e) = xen.watch(dom, abi::Op::AddWatch, nw) {
        // Put the old watch back, as it was (an error disabled it, or it
        // is gone: then its frames may not even be RAM any more).
        ow.access = access;
        ow.steps = steps;
        let back = xen.watch(dom, abi::Op::AddWatch, ow).is_ok();
        let mut f = errors::explain(&add, e.0);
        f.message.push_str(if back {
            "; the old watch is back"
        } else {
            "; the old watch could not be put back"
        });
        return Err(f);
    }
    println!(
        "domain {dom}: watching {new} ({}), {steps} steps, instead of {old}",
        args::access_string(access)
    );
    Ok(())
}

/// An address resolved: the walk, how the address or the address space
/// was found (a line to show), and the guest process it is in (`--pid`).
struct Resolved {
    t: walk::Translation,
    how: Option<String>,
    process: Option<tasks::Space>,
}

/// Resolves an address to a frame and says how (one line per step).
fn locate(
    xen: &mut xen::Xen,
    dom: u16,
    a: &args::Address,
    symbols: Option<&code::Symbols>,
    offsets: Option<&tasks::Offsets>,
) -> Result<Resolved, Failure> {
    let r = resolve_address(xen, dom, a, symbols, offsets)?;
    if let Some(h) = &r.how {
        println!("{h}");
    }
    println!("{}", format::translation_text(&r.t));
    Ok(r)
}

/// The frame an address maps to, walking the domain's page tables in the
/// paging mode of its vCPU 0; for a kernel symbol, also where KASLR put
/// the kernel, and for a process (`--pid`) its task and CR3 (the returned
/// line says so).
fn resolve_address(
    xen: &mut xen::Xen,
    dom: u16,
    a: &args::Address,
    symbols: Option<&code::Symbols>,
    offsets: Option<&tasks::Offsets>,
) -> Result<Resolved, Failure> {
    let (va, cr3) = match a {
        args::Address::Va { va, cr3 } => (*va, Some(*cr3)),
        args::Address::Pid { va, .. } => (*va, None),
        args::Address::Ksym { cr3, .. } => (0, *cr3),
    };
    let req = match a {
        args::Address::Pid { va, pid } => Request::Process {
            dom,
            va: *va,
            pid: *pid,
        },
        _ => Request::Translate {
            dom,
            va,
            cr3: cr3.unwrap_or(0),
        },
    };
    if dom == 0 {
        return Err(usage(
            "--va, --pid and --ksym read another domain's page tables; domain 0 watches its \
             own processes by frame (see /proc/PID/pagemap)",
        ));
    }
    let mut regs = xen
        .control_registers(dom, 0)
        .map_err(|e| errors::explain(&req, e.0))?;
    if let Some(c) = cr3 {
        regs.cr3 = c;
    }
    let mut process = None;
    let (va, how) = match a {
        args::Address::Va { va, .. } => (*va, None),
        args::Address::Pid { va, pid } => {
            let (Some(syms), Some(off)) = (symbols, offsets) else {
                return Err(usage("--pid needs --btf FILE and --symbols FILE"));
            };
            let (space, how) = process_space(xen, dom, &req, *pid, syms, off, regs)?;
            regs.cr3 = space.cr3;
            process = Some(space);
            (*va, Some(how))
        }
        args::Address::Ksym { name, .. } => {
            let Some(syms) = symbols else {
                return Err(usage("--ksym needs --symbols FILE"));
            };
            let (Some(addr), Some(banner)) =
                (syms.address_of(name), syms.address_of("linux_banner"))
            else {
                return Err(usage(format!(
                    "no symbol {name} or linux_banner in --symbols"
                )));
            };
            let mut f = code::Foreign::new(dom, None);
            let slide = code::find_slide(banner, |va| {
                f.read_virt(xen, &regs, va, code::BANNER.len())
            })
            .ok_or_else(|| {
                Failure::new(
                    exit::REFUSED,
                    format!(
                        "--ksym {name}: no \"{}\" at linux_banner ({banner:#x} in the symbols \
                         file) at any KASLR offset (0 to 1 GiB in 2 MiB steps) in the \
                         address space at cr3 {:#x}: the symbols are not this kernel's",
                        String::from_utf8_lossy(code::BANNER).trim_end(),
                        regs.cr3
                    ),
                )
            })?;
            let va = addr.wrapping_add(slide);
            (
                va,
                Some(format!(
                    "{name} is at {addr:#x} in the symbols file; KASLR slide {slide:#x} \
                     (found by linux_banner): {va:#x}"
                )),
            )
        }
    };
    let req = match req {
        Request::Translate { .. } => Request::Translate {
            dom,
            va,
            cr3: regs.cr3,
        },
        other => other,
    };
    let mut f = code::Foreign::new(dom, None);
    let t = walk::translate_with(walk::Paging::of(&regs), regs.cr3, va, |gpa, width| {
        f.read_entry(xen, gpa, width)
    })
    .map_err(|why| errors::untranslated(&req, &why))?;
    Ok(Resolved { t, how, process })
}

/// How often the task list is read before giving up on a walk that broke
/// (the guest runs on while it is read).
const TASK_LIST_READS: u32 = 3;

/// The address space of the guest's process `pid` (see `tasks`): the
/// kernel's page tables (vCPU 0's, or under PTI, when vCPU 0 is in user
/// space, their kernel half, the page below: bit 12 clear), KASLR's slide
/// found by linux_banner, the process's task found from init_task, and its
/// mm->pgd translated to the CR3.  With a line saying so.
fn process_space(
    xen: &mut xen::Xen,
    dom: u16,
    req: &Request,
    pid: u32,
    syms: &code::Symbols,
    off: &tasks::Offsets,
    regs: walk::Regs,
) -> Result<(tasks::Space, String), Failure> {
    let (Some(banner), Some(init)) = (
        syms.address_of("linux_banner"),
        syms.address_of("init_task"),
    ) else {
        return Err(usage("--pid needs linux_banner and init_task in --symbols"));
    };
    let mut kernel_cr3s = vec![regs.cr3];
    if regs.cr3 & 0x1000 != 0 {
        kernel_cr3s.push(regs.cr3 & !0x1000);
    }
    let mut k = tasks::GuestKernel::new(xen, dom, regs);
    let mut slide = None;
    for c in kernel_cr3s {
        k.regs.cr3 = c;
        slide = code::find_slide(banner, |va| k.read(va, code::BANNER.len()));
        if slide.is_some() {
            break;
        }
    }
    let Some(slide) = slide else {
        return Err(errors::no_process(
            req,
            &format!(
                "no \"{}\" at linux_banner ({banner:#x} in the symbols file) at any KASLR \
                 offset (0 to 1 GiB in 2 MiB steps) in the kernel's address space at cr3 \
                 {:#x}: the symbols are not this kernel's",
                String::from_utf8_lossy(code::BANNER).trim_end(),
                regs.cr3
            ),
        ));
    };
    let init_task = init.wrapping_add(slide);
    let mut reads = 0;
    let space = loop {
        reads += 1;
        k.foreign.refresh();
        match tasks::find_space(&mut k, off, init_task, pid) {
            Ok(s) => break s,
            Err(e) if e.retry() && reads < TASK_LIST_READS => continue,
            Err(e) if e.retry() => {
                return Err(errors::no_process(
                    req,
                    &format!(
                        "{e} (read {reads} times: the guest changes its list as it runs, but \
                         not so fast; are --btf and --symbols this kernel's?)"
                    ),
                ));
            }
            Err(e) => return Err(errors::no_process(req, &e.to_string())),
        }
    };
    let how = format!(
        "process {} ({}): task {:#x} (entry {} of the task list at init_task {init_task:#x}, \
         KASLR slide {slide:#x}), mm {:#x}, pgd {:#x} -> cr3 {:#x}",
        space.task.tgid,
        space.task.comm,
        space.task.addr,
        space.read,
        space.task.mm,
        space.pgd,
        space.cr3
    );
    Ok((space, how))
}

/// Ctrl-C and SIGTERM, turned into a flag the trace loop polls.
mod stop {
    use std::sync::atomic::{AtomicBool, Ordering};

    static STOP: AtomicBool = AtomicBool::new(false);

    extern "C" fn handler(_: libc::c_int) {
        STOP.store(true, Ordering::SeqCst);
    }

    /// From now on SIGINT and SIGTERM set the flag instead of killing.
    pub fn on_signals() {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: the handler only stores to an atomic, which is
            // async-signal-safe.
            unsafe { libc::signal(sig, handler as *const () as libc::sighandler_t) };
        }
    }

    /// Whether a signal asked the trace to stop.
    pub fn requested() -> bool {
        STOP.load(Ordering::SeqCst)
    }
}

/// The address bits of a long-mode CR3, as records carry it (the PCID and
/// flag bits masked).
const CR3_ADDR: u64 = 0x000f_ffff_ffff_f000;

/// How a trace prints records: their code read from the right place,
/// named, formatted.
struct Printer<'a> {
    dom: u16,
    json: bool,
    process: Option<code::Process>,
    attribution: code::Attribution,
    kcore: Option<code::Kcore>,
    foreign: Option<code::Foreign>,
    symbols: &'a code::Symbols,
    printed: u64,
}

impl Printer<'_> {
    /// One line (or two, in text) for a record; false once stdout is
    /// closed (a pipe's reader went away).
    fn record(&mut self, xen: &mut xen::Xen, r: &abi::Record) -> bool {
        let long = format::bitness(r.mode) == 64;
        let ours = match (&self.process, self.foreign.as_mut()) {
            (Some(p), _) => self.attribution.update(r, |l, g| p.frame_of(l) == Some(g)),
            (None, Some(f)) => self.attribution.update(r, |l, g| {
                long && f.translate(xen, r.vcpu, r.cr3, l).map(|a| a >> 12) == Some(g)
            }),
            (None, None) => false,
        };
        let kernel = r.cpl() == 0 && code::kernel_half(r.rip);
        let bytes = match (&self.process, self.foreign.as_mut()) {
            (Some(p), _) if ours => Some(p.code(r.rip)),
            // The record's own address space: the process it ran in.
            (None, Some(f)) if long && (ours || kernel) => Some(f.code(xen, r.vcpu, r.cr3, r.rip)),
            (_, None) if kernel => self.kcore.as_ref().map(|k| k.code(r.rip)),
            _ => None,
        };
        let bytes = bytes
            .filter(|b| !b.is_empty())
            .or_else(|| format::exec_bytes(r));
        let insn = bytes.and_then(|b| format::disassemble(&b, r.rip, format::bitness(r.mode)));
        let sym = if code::kernel_half(r.rip) {
            self.symbols.lookup(r.rip)
        } else {
            None
        };
        let line = if self.json {
            format::record_json(r, insn.as_ref(), sym.as_deref()).to_string()
        } else {
            format::record_text(r, insn.as_ref(), sym.as_deref())
        };
        self.printed += 1;
        writeln!(std::io::stdout().lock(), "{line}").is_ok()
    }

    /// Says, once per watch, that Xen switched one off because a frame of
    /// it left the guest's memory; false once stdout is closed.
    fn gone(&mut self, xen: &mut xen::Xen, seen: &mut HashSet<(u64, u64)>) -> bool {
        let Ok(watches) = xen.list(self.dom) else {
            return true;
        };
        for w in watches.iter().filter(|w| w.flags & abi::WATCH_GONE != 0) {
            if seen.insert((w.first_gfn, w.nr_frames)) {
                let line = if self.json {
                    format::gone_json(w).to_string()
                } else {
                    format::gone_text(w)
                };
                if writeln!(std::io::stdout().lock(), "{line}").is_err() {
                    return false;
                }
            }
        }
        true
    }

    fn lost(&self, vcpu: u32, lost: u64) -> bool {
        let line = if self.json {
            format::lost_json(vcpu, lost).to_string()
        } else {
            format::lost_text(vcpu, lost)
        };
        writeln!(std::io::stdout().lock(), "{line}").is_ok()
    }

    /// Prints `recs` up to `count` in all; false when the trace is over
    /// (count reached, or stdout closed).
    fn records(&mut self, xen: &mut xen::Xen, recs: &[abi::Record], count: Option<u64>) -> bool {
        for r in recs {
            if count.is_some_and(|c| self.printed >= c) || !self.record(xen, r) {
                return false;
            }
        }
        count.is_none_or(|c| self.printed < c)
    }

    /// Between rounds of reads: foreign page tables and frames move on.
    fn refresh(&mut self) {
        if let Some(f) = self.foreign.as_mut() {
            f.refresh();
        }
    }
}

/// The trace's signal from Xen, or the poll interval where there is none.
enum Wakeup {
    Signal(rshadowctl::evtchn::Channel),
    Poll(Duration),
}

impl Wakeup {
    /// The domain's NOTIFY channel, bound; polling (said on stderr) if
    /// Xen or this dom0 cannot give one.
    fn open(xen: &mut xen::Xen, dom: u16, interval: u64) -> Wakeup {
        let why = match xen.notify(dom, 0, 0) {
            Ok(port) => match rshadowctl::evtchn::Channel::bind(dom, port) {
                Ok(c) => return Wakeup::Signal(c),
                Err(e) => format!(
                    "cannot bind its port {port} through /dev/xen/evtchn ({}: another \
                     reader may hold it, or xen-evtchn is not loaded)",
                    std::io::Error::from_raw_os_error(e)
                ),
            },
            Err(e) => format!("NOTIFY failed ({})", errors::errno_name(e.0)),
        };
        eprintln!(
            "rshadowctl: no signal from Xen for domain {dom}: {why}; polling every {interval} ms"
        );
        Wakeup::Poll(Duration::from_millis(interval))
    }

    /// Sleeps until Xen signals, or `most` at the longest; true if a
    /// signal (or the poll interval) ended it.
    fn wait(&mut self, most: Duration) -> bool {
        match self {
            Wakeup::Signal(c) => c.wait(most),
            Wakeup::Poll(d) => {
                std::thread::sleep((*d).min(most));
                true
            }
        }
    }
}

/// The longest a trace sleeps with nothing held: a signal lost to a race
/// costs no more than this.
const IDLE_WAIT: Duration = Duration::from_secs(1);

#[allow(clippy::too_many_arguments)]
fn trace(
    xen: &mut xen::Xen,
    dom: u16,
    only: Option<u32>,
    json: bool,
    once: bool,
    count: Option<u64>,
    interval: u64,
    window_ms: u64,
    pid: Option<u32>,
    cr3: Option<u64>,
    symbols: &code::Symbols,
) -> Result<(), Failure> {
    let process = match pid {
        Some(p) => Some(
            code::Process::open(p)
                .map_err(|e| usage(format!("--pid {p}: cannot read that process's memory: {e}")))?,
        ),
        None => None,
    };
    let mut out = Printer {
        dom,
        json,
        process,
        attribution: code::Attribution::default(),
        // Domain 0 is the domain rshadowctl runs in: its kernel is readable.
        kcore: if dom == 0 { code::Kcore::open() } else { None },
        // Another domain: foreign mappings and its vCPUs' page tables.
        foreign: (dom != 0).then(|| code::Foreign::new(dom, cr3)),
        symbols,
        printed: 0,
    };
    let window = Duration::from_millis(window_ms);
    let mut merge = rshadowctl::merge::Merge::new(window_ms.saturating_mul(1_000_000));
    // The rings, drained in rounds (see the reader module for the budgets).
    let mut reader = rshadowctl::reader::Reader::new(only, once, xen::TRACE_BATCH, MAX_VCPUS);
    let mut wakeup = (!once).then(|| Wakeup::open(xen, dom, interval));
    let mut quiet = std::time::Instant::now();
    // Watches Xen switched off as their frames left the guest's memory:
    // each said once (those gone already, at the start).
    let mut gone = HashSet::new();
    stop::on_signals();
    let finish = |out: &mut Printer, merge: &mut rshadowctl::merge::Merge, xen: &mut xen::Xen| {
        out.records(xen, &merge.flush(), count);
        if merge.late() > 0 {
            eprintln!(
                "rshadowctl: {} records reached rshadowctl more than --window {window_ms} ms \
                 after newer ones, and were printed out of time order",
                merge.late()
            );
        }
    };
    loop {
        // Ctrl-C or SIGTERM: what was read is held or printed; print the
        // held, and stop.
        if stop::requested() {
            finish(&mut out, &mut merge, xen);
            return Ok(());
        }
        out.refresh();
        // No more read than --count can print: reading consumes.
        let room = count.map_or(u64::MAX, |c| {
            c.saturating_sub(out.printed + merge.held() as u64)
        });
        let round = reader
            .round(room, |v, max| xen.read_trace(dom, v, max).map_err(|e| e.0))
            .map_err(|e| errors::explain(&Request::Trace { dom, vcpu: e.vcpu }, e.errno))?;
        for &(v, lost) in &round.lost {
            if !out.lost(v, lost) {
                return Ok(());
            }
        }
        let read = round.records.len();
        let left = round.left;
        let done = reader.snapshot_done(&round);
        // --cr3: the records that ran in that address space alone.
        for r in round.records {
            if cr3.is_none_or(|c| r.cr3 == c & CR3_ADDR) {
                merge.push(r);
            }
        }
        if done {
            finish(&mut out, &mut merge, xen);
            out.gone(xen, &mut gone);
            return Ok(());
        }
        if !out.records(xen, &merge.ready(), count) || !out.gone(xen, &mut gone) {
            return Ok(());
        }
        // Quiet for a window: nothing older can still arrive.
        if read > 0 {
            quiet = std::time::Instant::now();
        } else if merge.held() > 0
            && quiet.elapsed() >= window
            && !out.records(xen, &merge.flush(), count)
        {
            return Ok(());
        }
        if left {
            continue;
        }
        let most = if merge.held() > 0 { window } else { IDLE_WAIT };
        if let Some(w) = wakeup.as_mut() {
            w.wait(most);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(a: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rshadowctl").chain(a.iter().copied()))
    }

    #[test]
    fn the_cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn good_command_lines() {
        let c = parse(&["watch", "1", "0x1a0-0x1a3", "rw", "--steps", "8"]).unwrap();
        match c.cmd {
            Cmd::Watch {
                domid,
                args,
                at,
                steps,
            } => {
                assert_eq!(domid, args::Domain::Id(1));
                assert_eq!(
                    args::watch_target(&args, at.address().unwrap()),
                    Ok((
                        args::WatchTarget::Frames(Frames {
                            first: 0x1a0,
                            nr: 4
                        }),
                        3
                    ))
                );
                assert_eq!(steps, 8);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["watch", "0", "0x10"]).unwrap().cmd {
            Cmd::Watch {
                args, at, steps, ..
            } => {
                assert_eq!(
                    args::watch_target(&args, at.address().unwrap()).map(|t| t.1),
                    Ok(3)
                );
                assert_eq!(steps, 0);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["enable", "2"]).unwrap().cmd {
            Cmd::Enable { ring, .. } => assert_eq!(ring, 1024),
            other => panic!("{other:?}"),
        }
        assert!(
            parse(&[
                "trace", "0", "--pid", "12", "--once", "--json", "--count", "3"
            ])
            .is_ok()
        );
        assert!(parse(&["unwatch", "3", "5+2"]).is_ok());
        let pid = [
            "--va",
            "0x1000",
            "--pid",
            "12",
            "--btf",
            "b",
            "--symbols",
            "s",
        ];
        for cmd in [
            &["translate", "3"][..],
            &["watch", "3", "w"],
            &["unwatch", "3"],
        ] {
            let a: Vec<&str> = cmd.iter().chain(pid.iter()).copied().collect();
            let c = parse(&a).unwrap_or_else(|e| panic!("{a:?}: {e}"));
            let at = match c.cmd {
                Cmd::Translate { at, .. } | Cmd::Watch { at, .. } | Cmd::Unwatch { at, .. } => at,
                other => panic!("{other:?}"),
            };
            assert_eq!(
                at.address().unwrap(),
                Some(args::Address::Pid {
                    va: 0x1000,
                    pid: 12
                })
            );
            assert_eq!(at.symbols_needed(), ["init_task", "linux_banner"]);
        }
        assert!(parse(&["list", "3", "--json"]).is_ok());
        assert!(parse(&["stats", "3"]).is_ok());
        assert!(parse(&["disable", "3"]).is_ok());
        assert!(parse(&["reset", "3"]).is_ok());
    }

    /// Every bad argument is a usage error (exit 2), before any hypercall.
    #[test]
    fn bad_command_lines_are_usage_errors() {
        let bad: &[&str] = &[
            "",
            "frobnicate",
            "enable",
            "enable 0x7ff0",
            "enable 1 --ring 100",
            "enable 1 --ring 8",
            "enable 1 --ring 131072",
            "watch 1",
            "watch 1x 0x10",
            "watch a/b 0x10",
            "watch 1 --va 0x1000",
            "watch 1 --va 0x0100000000000000 --cr3 0x1000",
            "watch 1 --va 0x1000 --cr3 0x0010000000000000",
            "unwatch 1 --va 0x1000",
            "unwatch 1 0x10 --va 0x1000 --cr3 0x1000",
            "translate 1 --va 0x1000",
            "translate 1 --ksym jiffies",
            "translate 1 --ksym jiffies --va 0x1000 --cr3 0x1000",
            "watch 1 --ksym jiffies",
            "unwatch 1 0x10 --ksym jiffies --symbols /x",
            "vcpus",
            // --pid: with --va, --btf and --symbols; not with --cr3 or --ksym
            "translate 1 --va 0x1000 --pid 5",
            "translate 1 --va 0x1000 --pid 5 --btf b",
            "translate 1 --va 0x1000 --pid 5 --symbols s",
            "translate 1 --pid 5 --btf b --symbols s",
            "translate 1 --va 0x1000 --pid 5 --cr3 0x1000 --btf b --symbols s",
            "translate 1 --ksym jiffies --pid 5 --btf b --symbols s",
            "translate 1 --va 0x1000 --pid 0 --btf b --symbols s",
            "translate 1 --va 0x1000 --cr3 0x1000 --btf b",
            "unwatch 1 0x10 --va 0x1000 --pid 5 --btf b --symbols s",
            "watch 1 0x10-0x1",
            "watch 1 0x10+0",
            "watch 1 0+0x100001",
            "watch 1 0x10 rq",
            "watch 1 0x10 rr",
            "watch 1 0x10 rw --steps 4097",
            "watch 1 0x10 rw extra",
            "unwatch 1",
            "unwatch 1 0x10-",
            "list",
            "stats -1",
            "trace 1 --vcpu 70000",
            "trace 1 --count 0",
            "trace 1 --interval 0",
            "trace 1 --pid 0",
            "disable 99999",
        ];
        for line in bad {
            let a: Vec<&str> = line.split_whitespace().collect();
            let e = parse(&a).expect_err(&format!("{a:?} was accepted"));
            assert_eq!(e.exit_code(), exit::USAGE, "{a:?}: {e}");
        }
        // An empty access argument, which a line cannot spell.
        let e = parse(&["watch", "1", "0x10", ""]).expect_err("empty access accepted");
        assert_eq!(e.exit_code(), exit::USAGE, "{e}");
    }

    #[test]
    fn rewatch_needs_an_address_before_any_hypercall() {
        let c = parse(&["rewatch", "3", "0x10"]).unwrap();
        let f = run(c.cmd).expect_err("refused");
        assert_eq!(f.code, exit::USAGE);
        assert!(
            f.message.contains("rewatch needs the address"),
            "{}",
            f.message
        );
        assert!(parse(&["rewatch", "3", "--va", "0x1000", "--cr3", "0x1000"]).is_err());
        let c = parse(&["rewatch", "3", "0x10", "--va", "0x1000", "--cr3", "0x2000"]).unwrap();
        assert!(matches!(c.cmd, Cmd::Rewatch { frames, .. } if frames.first == 0x10));
    }

    #[test]
    fn pid_with_another_domain_is_refused_before_any_hypercall() {
        let c = parse(&["trace", "3", "--pid", "12"]).unwrap();
        // run() refuses before opening the device, so this needs no Xen.
        let f = run(c.cmd).expect_err("refused");
        assert_eq!(f.code, exit::USAGE);
        assert!(f.message.contains("domain 0"));
    }

    #[test]
    fn watch_needs_frames_or_an_address_before_any_hypercall() {
        for a in [
            &["watch", "1", "w"][..],
            &["watch", "1", "0x10", "--cr3", "0x1000"],
            &["watch", "1", "0x10", "--ksym", "jiffies", "--symbols", "/x"],
            &[
                "watch", "1", "0x10", "w", "--va", "0x1000", "--cr3", "0x1000",
            ],
            &["watch", "1", "r", "w", "--va", "0x1000", "--cr3", "0x1000"],
        ] {
            let c = parse(a).unwrap();
            let f = run(c.cmd).expect_err("refused");
            assert_eq!(f.code, exit::USAGE, "{a:?}: {}", f.message);
        }
    }

    #[test]
    fn ksym_needs_a_symbol_and_linux_banner_before_any_hypercall() {
        let map = std::env::temp_dir().join(format!("rshadowctl-ksym-{}", std::process::id()));
        std::fs::write(&map, "ffffffff82a05000 D jiffies\n").unwrap();
        let m = map.to_str().unwrap();
        for (a, want) in [
            (
                &["translate", "1", "--ksym", "nosuch", "--symbols", m][..],
                "no symbol nosuch",
            ),
            (
                &["watch", "1", "w", "--ksym", "jiffies", "--symbols", m],
                "no symbol linux_banner",
            ),
            (
                &[
                    "translate",
                    "1",
                    "--ksym",
                    "jiffies",
                    "--symbols",
                    "/nonexistent",
                ],
                "/nonexistent",
            ),
            (&["translate", "1"], "translate needs"),
            (&["translate", "1", "--cr3", "0x1000"], "--cr3 goes with"),
        ] {
            let c = parse(a).unwrap();
            let f = run(c.cmd).expect_err("refused");
            assert_eq!(f.code, exit::USAGE, "{a:?}: {}", f.message);
            assert!(f.message.contains(want), "{a:?}: {}", f.message);
        }
        std::fs::remove_file(&map).ok();
    }

    #[test]
    fn pid_needs_init_task_and_a_btf_before_any_hypercall() {
        let dir = std::env::temp_dir();
        let n = std::process::id();
        let no_init = dir.join(format!("rshadowctl-pid-a-{n}"));
        std::fs::write(&no_init, "ffffffff82000100 D linux_banner\n").unwrap();
        let syms = dir.join(format!("rshadowctl-pid-b-{n}"));
        std::fs::write(
            &syms,
            "ffffffff82000100 D linux_banner\nffffffff82a0c940 D init_task\n",
        )
        .unwrap();
        let (a, b) = (no_init.to_str().unwrap(), syms.to_str().unwrap());
        for (s, btf, want) in [
            (a, "/nonexistent", "no symbol init_task"),
            (b, "/nonexistent", "--btf /nonexistent"),
            // a symbols file is not BTF
            (b, b, "not a BTF file"),
        ] {
            for cmd in [
                &["translate", "1"][..],
                &["watch", "1", "w"],
                &["unwatch", "1"],
            ] {
                let tail = ["--va", "0x1000", "--pid", "5", "--btf", btf, "--symbols", s];
                let argv: Vec<&str> = cmd.iter().chain(tail.iter()).copied().collect();
                let f = run(parse(&argv).unwrap().cmd).expect_err("refused");
                assert_eq!(f.code, exit::USAGE, "{argv:?}: {}", f.message);
                assert!(f.message.contains(want), "{argv:?}: {}", f.message);
            }
        }
        std::fs::remove_file(&no_init).ok();
        std::fs::remove_file(&syms).ok();
    }

    #[test]
    fn cr3_with_domain_0_is_refused_before_any_hypercall() {
        let c = parse(&["trace", "0", "--cr3", "0x1000"]).unwrap();
        let f = run(c.cmd).expect_err("refused");
        assert_eq!(f.code, exit::USAGE);
        assert!(f.message.contains("--pid"), "{}", f.message);
    }

    #[test]
    fn pid_of_no_process_is_refused_before_any_hypercall() {
        let c = parse(&["trace", "0", "--pid", "2147483647"]).unwrap();
        let f = run(c.cmd).expect_err("refused");
        assert_eq!(f.code, exit::USAGE);
        assert!(f.message.contains("no process 2147483647"), "{}", f.message);
    }

    #[test]
    fn bad_symbol_files_are_refused_before_any_hypercall() {
        let c = parse(&["trace", "1", "--symbols", "/nonexistent/System.map"]).unwrap();
        let f = run(c.cmd).expect_err("refused");
        assert_eq!(f.code, exit::USAGE);
        assert!(
            f.message.contains("/nonexistent/System.map"),
            "{}",
            f.message
        );
        let empty = std::env::temp_dir().join(format!("rshadowctl-empty-{}", std::process::id()));
        std::fs::write(&empty, "not a symbol file\n").unwrap();
        let c = parse(&["trace", "1", "--symbols", empty.to_str().unwrap()]).unwrap();
        let f = run(c.cmd).expect_err("refused");
        std::fs::remove_file(&empty).ok();
        assert_eq!(f.code, exit::USAGE);
        assert!(f.message.contains("no symbols"), "{}", f.message);
    }

    #[test]
    fn help_documents_exit_codes_and_every_command() {
        let h = Cli::command().render_long_help().to_string();
        for s in [
            "Exit codes:",
            "7  Xen refused",
            "enable",
            "disable",
            "watch",
            "unwatch",
            "list",
            "stats",
            "trace",
            "reset",
            "translate",
            "vcpus",
            "--va",
            "--pid PID",
        ] {
            assert!(h.contains(s), "{s} missing from help");
        }
    }
}
