//! Formatting records, watches and statistics as text or JSON lines, and
//! disassembling instruction bytes (iced-x86).  Pure.

use crate::abi::{self, Record, Stats, Watch};
use crate::args::{Frames, access_string};
use crate::walk::{Paging, Regs, Translation};
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use serde_json::{Value, json};

/// The longest x86 instruction.
pub const MAX_INSN: usize = 15;

/// A decoded instruction: its text and length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insn {
    pub text: String,
    pub len: usize,
    pub bytes: Vec<u8>,
}

/// The code size the CPU mode decodes with.
pub fn bitness(mode: u8) -> u32 {
    match mode & 0xf {
        abi::MODE_LONG64 => 64,
        abi::MODE_PROT32 => 32,
        _ => 16,
    }
}

/// Disassembles the first instruction of `bytes`, at `rip`.  `None` if the
/// bytes are not a whole valid instruction.
pub fn disassemble(bytes: &[u8], rip: u64, bitness: u32) -> Option<Insn> {
    if bytes.is_empty() {
        return None;
    }
    let mut dec = Decoder::with_ip(bitness, bytes, rip, DecoderOptions::NONE);
    let insn = dec.decode();
    if insn.is_invalid() {
        return None;
    }
    let mut text = String::new();
    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_space_after_operand_separator(true);
    fmt.options_mut().set_branch_leading_zeros(false);
    fmt.format(&insn, &mut text);
    Some(Insn {
        text,
        len: insn.len(),
        bytes: bytes[..insn.len()].to_vec(),
    })
}

pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        abi::REC_READ => "read",
        abi::REC_WRITE => "write",
        abi::REC_RMW => "rmw",
        abi::REC_EXEC => "exec",
        abi::REC_STEP => "step",
        abi::REC_ERROR => "error",
        abi::REC_YIELD => "yield",
        _ => "unknown",
    }
}

pub fn mode_name(mode: u8) -> &'static str {
    match mode & 0xf {
        abi::MODE_REAL => "real",
        abi::MODE_VM86 => "vm86",
        abi::MODE_PROT16 => "prot16",
        abi::MODE_PROT32 => "prot32",
        abi::MODE_LONG64 => "long64",
        _ => "unknown",
    }
}

pub fn error_name(extra: u16) -> &'static str {
    match extra {
        abi::ERR_UNHANDLEABLE => "unhandleable",
        abi::ERR_EVENT => "during-event-delivery",
        abi::ERR_EXCEPTION => "exception",
        abi::ERR_BREAKPOINT => "guest-data-breakpoint",
        _ => "unknown",
    }
}

pub fn flag_names(flags: u8) -> Vec<&'static str> {
    let mut v = Vec::new();
    for (bit, name) in [
        (abi::RECF_VALUE, "value"),
        (abi::RECF_STRADDLE, "straddle"),
        (abi::RECF_FAILED, "cmpxchg-failed"),
        (abi::RECF_EMULATED, "completed-by-xen"),
        (abi::RECF_NATIVE, "ran-natively"),
    ] {
        if flags & bit != 0 {
            v.push(name);
        }
    }
    v
}

/// The bytes an `exec` record carries in its value (the first bytes of
/// the fetched instruction, little-endian).
pub fn exec_bytes(r: &Record) -> Option<Vec<u8>> {
    if r.kind == abi::REC_EXEC && r.flags & abi::RECF_VALUE != 0 {
        let n = usize::from(r.size).clamp(1, 8);
        Some(r.value.to_le_bytes()[..n].to_vec())
    } else {
        None
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// One record as one JSON object (one line).
/// The version of `trace --json`'s objects, in each as `"schema"`: raised
/// when a field changes meaning or goes away (new fields do not raise it).
pub const JSON_SCHEMA: u32 = 1;

pub fn record_json(r: &Record, insn: Option<&Insn>, sym: Option<&str>) -> Value {
    let mut o = json!({
        "schema": JSON_SCHEMA,
        "vcpu": r.vcpu,
        "seq": r.seq,
        "time_ns": r.time,
        "kind": kind_name(r.kind),
        "rip": hex(r.rip),
        "mode": mode_name(r.mode),
        "cpl": r.cpl(),
        "rflags": hex(r.rflags),
        "cr3": hex(r.cr3),
        "flags": flag_names(r.flags),
        "insn": insn.map(|i| i.text.clone()),
        "bytes": insn.map(|i| i.bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        "symbol": sym,
    });
    let m = o.as_object_mut().expect("an object");
    match r.kind {
        abi::REC_STEP => {
            m.insert("step".into(), json!(r.extra));
            m.insert("next_rip".into(), json!(hex(r.linear)));
        }
        abi::REC_YIELD => {
            m.insert("steps".into(), json!(r.extra));
        }
        abi::REC_ERROR => {
            m.insert("error".into(), json!(error_name(r.extra)));
            m.insert("linear".into(), json!(hex(r.linear)));
            m.insert("gfn".into(), json!(hex(r.gfn)));
        }
        _ => {
            m.insert("linear".into(), json!(hex(r.linear)));
            m.insert("gfn".into(), json!(hex(r.gfn)));
            m.insert("size".into(), json!(r.size));
            m.insert(
                "value".into(),
                if r.flags & abi::RECF_VALUE != 0 {
                    json!(hex(r.value))
                } else {
                    Value::Null
                },
            );
        }
    }
    o
}

fn insn_text(insn: Option<&Insn>) -> String {
    match insn {
        Some(i) => i.text.clone(),
        None => "(code not readable)".into(),
    }
}

/// One record as text: an access on one line with its instruction under
/// it; a step indented under its access.
pub fn record_text(r: &Record, insn: Option<&Insn>, sym: Option<&str>) -> String {
    let sym = sym.map(|s| format!(" <{s}>")).unwrap_or_default();
    let flags = flag_names(r.flags & !abi::RECF_VALUE);
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(","))
    };
    match r.kind {
        abi::REC_STEP => format!(
            "    step {:<3} {:#x}{}  {:<40} -> {:#x}  rflags {:#x}{}",
            r.extra,
            r.rip,
            sym,
            insn_text(insn),
            r.linear,
            r.rflags,
            flags
        ),
        abi::REC_YIELD => format!(
            "    yield after {} steps at {:#x}{}: the window closed early to let an interrupt in",
            r.extra, r.rip, sym
        ),
        abi::REC_ERROR => format!(
            "v{} #{} ERROR {} at rip {:#x}, linear {:#x} (gfn {:#x}): {}\n    {:#x}{}  {}",
            r.vcpu,
            r.seq,
            error_name(r.extra),
            r.rip,
            r.linear,
            r.gfn,
            if r.flags & abi::RECF_NATIVE != 0 {
                "ran natively, the watch stays on"
            } else {
                "the watch is disabled"
            },
            r.rip,
            sym,
            insn_text(insn)
        ),
        _ => {
            let value = if r.flags & abi::RECF_VALUE != 0 {
                format!(" value {:#x}", r.value)
            } else {
                String::new()
            };
            format!(
                "v{} #{} {} {} bytes at {:#x} (gfn {:#x}){} cpl{} {} cr3 {:#x}{}\n    {:#x}{}  {}",
                r.vcpu,
                r.seq,
                kind_name(r.kind),
                r.size,
                r.linear,
                r.gfn,
                value,
                r.cpl(),
                mode_name(r.mode),
                r.cr3,
                flags,
                r.rip,
                sym,
                insn_text(insn)
            )
        }
    }
}

/// Records lost from a full ring.
pub fn lost_text(vcpu: u32, lost: u64) -> String {
    format!("v{vcpu}: {lost} records lost (the ring was full)")
}

pub fn lost_json(vcpu: u32, lost: u64) -> Value {
    json!({ "schema": JSON_SCHEMA, "kind": "lost", "vcpu": vcpu, "lost": lost })
}

/// `0x7e5700000000 in cr3 0x2e7b000 (4-level) -> gfn 0x29e2 (gpa
/// 0x29e2000, 4 KiB page)`.
pub fn translation_text(t: &Translation) -> String {
    format!(
        "{:#x} in cr3 {:#x} ({}) -> gfn {:#x} (gpa {:#x}, {} page)",
        t.va,
        t.cr3,
        t.paging.name(),
        t.gpa >> 12,
        t.gpa,
        page_size_name(t.page_size)
    )
}

pub fn translation_json(t: &Translation) -> Value {
    json!({
        "va": hex(t.va),
        "cr3": hex(t.cr3),
        "paging": t.paging.name(),
        "gpa": hex(t.gpa),
        "gfn": hex(t.gpa >> 12),
        "page_size": t.page_size,
    })
}

fn page_size_name(size: u64) -> String {
    match size {
        s if s >= 1 << 30 => format!("{} GiB", s >> 30),
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s => format!("{} KiB", s >> 10),
    }
}

/// One vCPU's paging registers: `vcpu 0: cr3 0x2e7b000 (4-level) cr0 ...`.
pub fn vcpu_text(vcpu: u32, r: &Regs) -> String {
    format!(
        "vcpu {vcpu}: cr3 {:#x} ({}) cr0 {:#x} cr4 {:#x} efer {:#x}",
        r.cr3,
        Paging::of(r).name(),
        r.cr0,
        r.cr4,
        r.efer
    )
}

pub fn vcpu_json(vcpu: u32, r: &Regs) -> Value {
    json!({
        "vcpu": vcpu,
        "cr3": hex(r.cr3),
        "paging": Paging::of(r).name(),
        "cr0": hex(r.cr0),
        "cr4": hex(r.cr4),
        "efer": hex(r.efer),
    })
}

pub fn watch_text(w: &Watch) -> String {
    let f = Frames {
        first: w.first_gfn,
        nr: w.nr_frames.max(1),
    };
    format!(
        "{:<27} {:>8} {:<3} {:>5}{}",
        f.to_string(),
        w.nr_frames,
        access_string(w.access),
        w.steps,
        if w.flags & abi::WATCH_GONE != 0 {
            "  gone (a frame left the guest's memory: the watch is off)"
        } else if w.flags & abi::WATCH_DISABLED != 0 {
            "  disabled (an access could not be emulated)"
        } else {
            ""
        }
    )
}

/// The trace's line for a watch Xen switched off because a frame of it
/// left the guest's p2m (ballooned, paged out, remapped).
pub fn gone_text(w: &Watch) -> String {
    let f = Frames {
        first: w.first_gfn,
        nr: w.nr_frames.max(1),
    };
    format!(
        "watch {f} is gone: a frame of it left the guest's memory (ballooned out, paged out \
         or remapped), and Xen switched the watch off; unwatch it, and watch again to trace \
         what the guest maps there now"
    )
}

/// [`gone_text`] as a JSON line.
pub fn gone_json(w: &Watch) -> Value {
    json!({
        "schema": JSON_SCHEMA,
        "kind": "watch",
        "event": "gone",
        "first_gfn": hex(w.first_gfn),
        "nr_frames": w.nr_frames,
    })
}

pub const WATCH_HEADER: &str = "frames                        count acc steps";

pub fn watch_json(w: &Watch) -> Value {
    json!({
        "first_gfn": hex(w.first_gfn),
        "nr_frames": w.nr_frames,
        "access": access_string(w.access),
        "steps": w.steps,
        "disabled": w.flags & abi::WATCH_DISABLED != 0,
        "gone": w.flags & abi::WATCH_GONE != 0,
    })
}

fn stats_fields(s: &Stats) -> [(&'static str, u64); 10] {
    [
        ("watched_faults", s.watched_faults),
        ("fast_faults", s.fast_faults),
        ("emulated", s.emulated),
        ("records", s.records),
        ("dropped", s.dropped),
        ("steps", s.steps),
        ("errors", s.errors),
        ("watches", s.watches),
        ("watched_frames", s.watched_frames),
        ("continuations", s.continuations),
    ]
}

pub fn stats_text(s: &Stats) -> String {
    stats_fields(s)
        .iter()
        .map(|(k, v)| format!("{k:<15} {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn stats_json(s: &Stats) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in stats_fields(s) {
        m.insert(k.into(), json!(v));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_rec() -> Record {
        Record {
            seq: 7,
            time: 1000,
            rip: 0x401136,
            linear: 0x7f00_0000_1000,
            gfn: 0x1d2c3,
            value: 0x5a5a1234,
            rflags: 0x246,
            cr3: 0x1234_5000,
            vcpu: 0,
            kind: abi::REC_WRITE,
            size: 4,
            mode: abi::MODE_LONG64 | (3 << 4),
            flags: abi::RECF_VALUE,
            extra: 0,
        }
    }

    #[test]
    fn disassembles_given_bytes() {
        // mov dword ptr [rax], 0x5a5a1234
        let i = disassemble(&[0xc7, 0x00, 0x34, 0x12, 0x5a, 0x5a, 0x90], 0x401136, 64).unwrap();
        assert_eq!(i.text, "mov dword ptr [rax], 0x5a5a1234");
        assert_eq!(i.len, 6);
        assert_eq!(i.bytes.len(), 6);
        // add eax, 2 ; relative jump resolved against rip
        assert_eq!(
            disassemble(&[0x83, 0xc0, 0x02], 0, 64).unwrap().text,
            "add eax, 2"
        );
        assert_eq!(
            disassemble(&[0xeb, 0x00], 0x1000, 64).unwrap().text,
            "jmp short 0x1002"
        );
        // 32-bit and 16-bit code
        assert_eq!(disassemble(&[0x40], 0, 32).unwrap().text, "inc eax");
        assert_eq!(disassemble(&[0x40], 0, 16).unwrap().text, "inc ax");
    }

    #[test]
    fn incomplete_or_invalid_bytes_give_none() {
        assert_eq!(disassemble(&[], 0, 64), None);
        assert_eq!(disassemble(&[0xc7, 0x00, 0x34], 0, 64), None);
        assert_eq!(disassemble(&[0x0f, 0xff], 0, 64), None);
    }

    #[test]
    fn bitness_of_modes() {
        assert_eq!(bitness(abi::MODE_LONG64 | 0x30), 64);
        assert_eq!(bitness(abi::MODE_PROT32), 32);
        assert_eq!(bitness(abi::MODE_PROT16), 16);
        assert_eq!(bitness(abi::MODE_REAL), 16);
        assert_eq!(bitness(abi::MODE_VM86), 16);
    }

    #[test]
    fn access_text_and_json() {
        let r = write_rec();
        let i = disassemble(&[0xc7, 0x00, 0x34, 0x12, 0x5a, 0x5a], r.rip, 64);
        let t = record_text(&r, i.as_ref(), None);
        assert_eq!(
            t,
            "v0 #7 write 4 bytes at 0x7f0000001000 (gfn 0x1d2c3) value 0x5a5a1234 cpl3 long64 \
             cr3 0x12345000\n    \
             0x401136  mov dword ptr [rax], 0x5a5a1234"
        );
        let j = record_json(&r, i.as_ref(), None);
        assert_eq!(j["kind"], "write");
        assert_eq!(j["rip"], "0x401136");
        assert_eq!(j["linear"], "0x7f0000001000");
        assert_eq!(j["gfn"], "0x1d2c3");
        assert_eq!(j["value"], "0x5a5a1234");
        assert_eq!(j["cpl"], 3);
        assert_eq!(j["cr3"], "0x12345000");
        assert_eq!(j["schema"], 1);
        assert_eq!(j["insn"], "mov dword ptr [rax], 0x5a5a1234");
        assert_eq!(j["bytes"], "c70034125a5a");
        assert!(!j.to_string().contains('\n'));
        // no code: said so, null in JSON; no value: none shown
        let r2 = Record { flags: 0, ..r };
        assert!(record_text(&r2, None, None).contains("(code not readable)"));
        assert!(!record_text(&r2, None, None).contains("value"));
        assert_eq!(record_json(&r2, None, None)["insn"], Value::Null);
        assert_eq!(record_json(&r2, None, None)["value"], Value::Null);
    }

    #[test]
    fn step_and_error_text_and_json() {
        let s = Record {
            kind: abi::REC_STEP,
            rip: 0x40113c,
            linear: 0x401141,
            extra: 0,
            flags: abi::RECF_EMULATED,
            ..write_rec()
        };
        let i = disassemble(&[0xb8, 1, 0, 0, 0], s.rip, 64);
        let t = record_text(&s, i.as_ref(), None);
        assert!(t.starts_with("    step 0   0x40113c  mov eax, 1"), "{t}");
        assert!(
            t.contains("-> 0x401141  rflags 0x246 [completed-by-xen]"),
            "{t}"
        );
        let j = record_json(&s, i.as_ref(), None);
        assert_eq!(j["kind"], "step");
        assert_eq!(j["step"], 0);
        assert_eq!(j["next_rip"], "0x401141");
        assert_eq!(j["flags"][0], "completed-by-xen");
        let e = Record {
            kind: abi::REC_ERROR,
            extra: abi::ERR_UNHANDLEABLE,
            ..write_rec()
        };
        assert!(record_text(&e, None, None).contains("ERROR unhandleable"));
        assert!(record_text(&e, None, None).contains("the watch is disabled"));
        assert_eq!(record_json(&e, None, None)["error"], "unhandleable");
        // Run natively: the watch stays on, and the flag says so.
        let n = Record {
            flags: abi::RECF_NATIVE,
            ..e
        };
        let t = record_text(&n, None, None);
        assert!(t.contains("ran natively, the watch stays on"), "{t}");
        assert!(!t.contains("disabled"), "{t}");
        assert_eq!(record_json(&n, None, None)["flags"][0], "ran-natively");
        assert_eq!(error_name(abi::ERR_EVENT), "during-event-delivery");
        assert_eq!(error_name(abi::ERR_EXCEPTION), "exception");
        assert_eq!(error_name(abi::ERR_BREAKPOINT), "guest-data-breakpoint");
        assert_eq!(kind_name(99), "unknown");
        let y = Record {
            kind: abi::REC_YIELD,
            extra: 3,
            ..write_rec()
        };
        assert!(record_text(&y, None, None).contains("yield after 3 steps"));
        assert_eq!(record_json(&y, None, None)["kind"], "yield");
        assert_eq!(record_json(&y, None, None)["steps"], 3);
        assert_eq!(mode_name(0), "unknown");
    }

    #[test]
    fn symbols_in_text_and_json() {
        let s = Record {
            kind: abi::REC_STEP,
            rip: 0xffff_ffff_8100_0010,
            ..write_rec()
        };
        let t = record_text(&s, None, Some("copy_user+0x10"));
        assert!(
            t.contains("0xffffffff81000010 <copy_user+0x10>  (code not readable)"),
            "{t}"
        );
        assert_eq!(
            record_json(&s, None, Some("copy_user+0x10"))["symbol"],
            "copy_user+0x10"
        );
        assert_eq!(record_json(&s, None, None)["symbol"], Value::Null);
        let a = record_text(&write_rec(), None, Some("f"));
        assert!(a.contains("0x401136 <f>  (code not readable)"), "{a}");
    }

    #[test]
    fn exec_records_carry_their_bytes() {
        let r = Record {
            kind: abi::REC_EXEC,
            size: 8,
            value: u64::from_le_bytes([0xb8, 1, 0, 0, 0, 0x90, 0x90, 0x90]),
            ..write_rec()
        };
        let b = exec_bytes(&r).unwrap();
        assert_eq!(disassemble(&b, 0, 64).unwrap().text, "mov eax, 1");
        assert_eq!(exec_bytes(&write_rec()), None);
    }

    #[test]
    fn watches_stats_lost() {
        let w = Watch {
            first_gfn: 0x1a0,
            nr_frames: 4,
            access: 3,
            steps: 8,
            flags: 0,
            pad: 0,
        };
        assert!(watch_text(&w).starts_with("0x1a0-0x1a3"));
        assert!(watch_text(&w).contains(" rw "));
        let wd = Watch {
            flags: abi::WATCH_DISABLED,
            ..w
        };
        assert!(watch_text(&wd).contains("disabled"));
        assert_eq!(watch_json(&w)["first_gfn"], "0x1a0");
        assert_eq!(watch_json(&wd)["disabled"], true);
        let wg = Watch {
            flags: abi::WATCH_DISABLED | abi::WATCH_GONE,
            ..w
        };
        assert!(watch_text(&wg).contains("gone"));
        assert_eq!(watch_json(&wg)["gone"], true);
        assert_eq!(gone_json(&wg)["kind"], "watch");
        assert_eq!(gone_json(&wg)["event"], "gone");
        assert!(gone_text(&wg).starts_with("watch 0x1a0-0x1a3 is gone"));
        let s = Stats {
            records: 5,
            steps: 3,
            ..Default::default()
        };
        assert!(stats_text(&s).contains("records         5"));
        assert_eq!(stats_json(&s)["steps"], 3);
        assert_eq!(lost_text(1, 4), "v1: 4 records lost (the ring was full)");
        assert_eq!(lost_json(1, 4)["lost"], 4);
        assert_eq!(lost_json(1, 4)["kind"], "lost");
        assert_eq!(lost_json(1, 4)["schema"], JSON_SCHEMA);
    }
}
