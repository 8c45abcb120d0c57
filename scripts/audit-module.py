#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Audit the object code that rust-shadow puts into Xen.

    audit-module.py [--xen-config .config] OBJECT|ARCHIVE...
    audit-module.py --linked xen-syms

Fails (exit 1, one line per finding) on:

  fpu       an SSE/AVX/x87/MMX instruction, or an xmm/ymm/zmm/mm/st register:
            guest FPU state is live while Xen runs
  indirect  an indirect call or jump (it must go through
            __x86_indirect_thunk_*) when CONFIG_INDIRECT_THUNK=y
  ret       a bare return when CONFIG_RETURN_THUNK=y
  endbr     an exported function not starting with ENDBR64 when
            CONFIG_XEN_IBT=y
  panic     any symbol of Rust's panic machinery, or a reference to the
            module's panic leaf service: a reachable panic is a host crash
  reloc     a relocation in loaded code or data that Xen's link cannot take
            (absolute 32-bit: Xen runs above 4G; GOT/PLT-table/TLS kinds:
            Xen has no GOT and no TLS)
  import    an undefined symbol Xen does not provide (it would pull more of
            the archive, e.g. compiler_builtins, into the hypervisor)
  section   writable+executable, TLS or constructor sections

An archive is audited member by member, except compiler_builtins members:
the import rule proves none of them is ever linked, and --linked checks the
final xen-syms for any of their symbols.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# What the module may import: Xen's leaf services for it, the string
# functions Xen implements, and the speculation thunks.
IMPORT_ALLOW = re.compile(
    r"^(rshadow_xen_[a-z0-9_]+|memcpy|memset|memmove|memcmp"
    r"|__x86_indirect_thunk_(r[a-z0-9]+)|__x86_return_thunk)$")

RELOC_ALLOW = {"R_X86_64_PC32", "R_X86_64_PLT32", "R_X86_64_64", "R_X86_64_PC64",
               "R_X86_64_NONE"}

# Rust's panic machinery, by demangled name, plus the module's panic leaf.
PANIC_RE = re.compile(
    r"core::panicking::|rust_begin_unwind|rust_panic|__rust_start_panic"
    r"|core::option::expect_failed|core::option::unwrap_failed"
    r"|core::result::unwrap_failed|core::slice::index::|slice_index_fail"
    r"|core::str::slice_error_fail|core::cell::panic_already"
    r"|panic_bounds_check|panic_fmt|panic_const|\brshadow_xen_panic\b")

FPU_REG_RE = re.compile(r"%(?:[xyz]mm\d+|mm\d|st\b|st\(\d\)|k[0-7]\b|mxcsr)")
# Mnemonics with no vector register operand that still use FPU/SIMD state.
FPU_MNEMONICS = {"emms", "femms", "ldmxcsr", "stmxcsr", "fxsave", "fxsave64",
                 "fxrstor", "fxrstor64", "xsave", "xsave64", "xsaveopt",
                 "xsavec", "xsaves", "xrstor", "xrstor64", "xrstors",
                 "vzeroupper", "vzeroall", "fwait", "wait"}
# x87 mnemonics all start with 'f'; no integer instruction does.
X87_RE = re.compile(r"^f[a-z0-9]+$")
RET_MNEMONICS = {"ret", "retq", "retl", "retw", "lret", "lretq", "lretl"}
BRANCH_MNEMONICS = {"call", "callq", "jmp", "jmpq", "notrack"}


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def xen_config(path):
    cfg = {}
    if path:
        for line in Path(path).read_text().splitlines():
            m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
            if m:
                cfg[m.group(1)] = m.group(2)
    return cfg


class Audit:
    def __init__(self, cfg):
        self.cfg = cfg
        self.findings = []
        self.stats = {"objects": 0, "functions": 0, "instructions": 0}

    def fail(self, rule, where, what):
        self.findings.append(f"audit: {rule}: {where}: {what}")

    def on(self, opt):
        return self.cfg.get(opt) == "y"

    def object(self, obj, label):
        self.stats["objects"] += 1
        self.sections(obj, label)
        self.symbols(obj, label)
        self.relocations(obj, label)
        self.code(obj, label)

    def sections(self, obj, label):
        for line in run("readelf", "-SW", obj).splitlines():
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+([A-Za-z]*)\s", line)
            if not m:
                continue
            name, flags = m.group(1), m.group(3)
            if "W" in flags and "X" in flags:
                self.fail("section", f"{label}:{name}", "writable and executable")
            if "T" in flags or name.startswith((".tdata", ".tbss")):
                self.fail("section", f"{label}:{name}", "thread-local storage")
            if name.startswith((".init_array", ".ctors", ".fini_array", ".dtors")):
                self.fail("section", f"{label}:{name}", "constructors never run in Xen")

    def symbols(self, obj, label):
        for line in run("nm", "-C", obj).splitlines():
            parts = line.split(None, 2)
            if len(parts) == 2:
                kind, name = parts
            elif len(parts) == 3:
                _, kind, name = parts
            else:
                continue
            if PANIC_RE.search(name):
                self.fail("panic", label, f"panic path survives: {name}")
            elif kind == "U" and not IMPORT_ALLOW.match(name):
                self.fail("import", label, f"undefined symbol Xen does not provide: {name}")

    def relocations(self, obj, label):
        alloc = set()
        for line in run("readelf", "-SW", obj).splitlines():
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+([A-Za-z]*)\s", line)
            if m and "A" in m.group(2):
                alloc.add(m.group(1))
        section = None
        for line in run("readelf", "-rW", obj).splitlines():
            m = re.match(r"^Relocation section '\.rela?(\S+)'", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^[0-9a-f]+\s+[0-9a-f]+\s+(R_X86_64_\w+)\s*(.*)$", line)
            if m and section in alloc and m.group(1) not in RELOC_ALLOW:
                sym = m.group(2).split()[-1] if m.group(2).split() else "?"
                self.fail("reloc", f"{label}:{section}", f"{m.group(1)} against {sym}")

    def code(self, obj, label):
        func = None
        first = False
        exported = {l.split()[-1] for l in run("nm", "--defined-only", "-g", obj).splitlines()
                    if len(l.split()) == 3 and l.split()[1] in "TW"}
        dis = run("objdump", "-d", "-w", "--no-show-raw-insn", "-C", obj)
        raw = run("objdump", "-d", "-w", "--no-show-raw-insn", obj)
        # Demangled for messages, mangled to match exported names.
        names = iter(re.findall(r"^[0-9a-f]+ <(.+)>:$", raw, re.M))
        for line in dis.splitlines():
            m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
            if m:
                func = m.group(1)
                mangled = next(names, func)
                first = mangled in exported
                self.stats["functions"] += 1
                continue
            m = re.match(r"^\s*([0-9a-f]+):\s+(?:(?:rex\.\w+|data16|cs|ds|ss|es|fs|gs|lock|rep\w*|bnd)\s+)*(\S+)\s*(.*)$", line)
            if not m or func is None:
                continue
            addr, mnem, ops = m.group(1), m.group(2), m.group(3)
            ops = ops.split("#")[0].strip()
            where = f"{label}:{func}+0x{addr}"
            self.stats["instructions"] += 1
            if first:
                first = False
                if self.on("CONFIG_XEN_IBT") and mnem != "endbr64":
                    self.fail("endbr", where, "exported function does not start with endbr64")
            if mnem in FPU_MNEMONICS or X87_RE.match(mnem) or FPU_REG_RE.search(ops) \
                    or (mnem.startswith("v") and mnem not in ("verr", "verw")):
                self.fail("fpu", where, f"{mnem} {ops}".strip())
            if mnem in RET_MNEMONICS and self.on("CONFIG_RETURN_THUNK"):
                self.fail("ret", where, f"bare {mnem} (must jmp __x86_return_thunk)")
            if mnem in BRANCH_MNEMONICS and (ops.startswith("*") or mnem == "notrack"):
                if self.on("CONFIG_INDIRECT_THUNK") or self.on("CONFIG_XEN_IBT"):
                    self.fail("indirect", where, f"{mnem} {ops} (must use __x86_indirect_thunk_*)")

    def archive(self, path):
        with tempfile.TemporaryDirectory() as tmp:
            members = run("ar", "t", path).split()
            subprocess.run(["ar", "x", str(Path(path).resolve())], cwd=tmp, check=True)
            for m in members:
                if m.startswith("compiler_builtins-"):
                    continue
                self.object(str(Path(tmp) / m), f"{Path(path).name}({m})")

    def linked(self, xen_syms):
        for line in run("nm", xen_syms).splitlines():
            if "compiler_builtins" in line:
                self.fail("import", xen_syms, f"compiler_builtins linked into Xen: {line.split()[-1]}")
                break


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xen-config", help="Xen .config deciding the thunk/IBT rules "
                    "(without it, all of them apply)")
    ap.add_argument("--linked", help="check a linked xen-syms instead")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()

    cfg = xen_config(args.xen_config) if args.xen_config else {
        "CONFIG_INDIRECT_THUNK": "y", "CONFIG_RETURN_THUNK": "y", "CONFIG_XEN_IBT": "y"}
    audit = Audit(cfg)
    if args.linked:
        audit.linked(args.linked)
    for f in args.files:
        with open(f, "rb") as fh:
            is_archive = fh.read(8) == b"!<arch>\n"
        if is_archive:
            audit.archive(f)
        else:
            audit.object(f, Path(f).name)

    for line in audit.findings:
        print(line)
    s = audit.stats
    if audit.findings:
        print(f"audit: FAILED with {len(audit.findings)} finding(s)")
        sys.exit(1)
    what = args.linked or f"{s['objects']} object(s), {s['functions']} functions, " \
                          f"{s['instructions']} instructions"
    print(f"audit: OK: {what}")


if __name__ == "__main__":
    main()
