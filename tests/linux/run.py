#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""rshadowctl end to end on a real Linux dom0.

Debian 12's Linux 6.1 kernel boots as a PVH dom0 on shadow paging under the
patched Xen, in QEMU (AMD SVM, hidden-TF stepping), with an initramfs that
holds busybox, rshadowctl, Linux's xen-privcmd module and watchme
(tests/linux/watchme.c).  The initramfs's /init (tests/linux/init) exercises
rshadowctl's real error paths, then watchme watches a page of its own with a
step budget, writes it, and prints the trace as JSON lines and as text.

This script fetches what it needs (apt-get download, into build/linux/dl),
builds rshadowctl (static) and watchme, packs the initramfs, boots, and
checks the serial log.  It prints one "PASS|FAIL|SKIP linux/<platform>/<check>
detail" line per check and, last, "N passed, N failed, N skipped"; the exit
status is 1 when anything failed.

  tests/linux/run.py                  # the test, on QEMU-SVM
  tests/linux/run.py --demo           # show the trace of the real program
  tests/linux/run.py --platform bochs-vmx   # try Bochs-VMX (see SKIP reason)

Environment: BUILD (default build/; this uses BUILD/linux), RSHADOW_XEN
(the hypervisor, default BUILD/pinned/xen-patched/xen/xen),
RSHADOW_LINUX_TIMEOUT (seconds, default 300), RSHADOW_BOCHS_ROOT.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "scripts"))
import kvm  # noqa: E402
HERE = TOP / "tests/linux"
BUILD_ROOT = Path(os.environ.get("BUILD", TOP / "build"))
BUILD = BUILD_ROOT / "linux"
DL = BUILD / "dl"
XEN = Path(os.environ.get("RSHADOW_XEN", BUILD_ROOT / "pinned/xen-patched/xen/xen"))
TIMEOUT = int(os.environ.get("RSHADOW_LINUX_TIMEOUT", "300"))

XEN_ARGS = ("console=com1 loglvl=all guest_loglvl=all noreboot dom0=pvh "
            "dom0-iommu=none dom0_mem=512M dom0_max_vcpus=1 bootscrub=false")
LINUX_ARGS = "console=hvc0 nokaslr acpi=off loglevel=4"

# The instructions of watchme's touch() after its store, in order (iced-x86,
# Intel syntax, as rshadowctl prints them).
EXPECTED_STEPS = ["mov eax, 1", "add eax, 2", "imul eax, 3", "xor ecx, ecx",
                  "inc ecx", "lea edx, [rax+rcx+5]", "nop", "sub edx, ecx",
                  "shl edx, 1", "mov eax, edx", "nop", "nop"]

results = []


def record(status, name, detail=""):
    results.append((status, name))
    print(f"{status} {name}{(' ' + detail) if detail else ''}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# --- what the initramfs needs ------------------------------------------------

def apt_download(pkg):
    """apt-get download, refreshing the indices once if the version they
    name is gone from the archive (security updates replace kernels)."""
    if subprocess.run(["apt-get", "download", pkg], cwd=DL).returncode != 0:
        sh(["apt-get", "update", "-qq"])
        sh(["apt-get", "download", pkg], cwd=DL)


def fetch():
    """Debian's kernel (the version linux-image-amd64 depends on) and
    busybox-static, downloaded once into build/linux/dl and unpacked."""
    DL.mkdir(parents=True, exist_ok=True)
    if not glob.glob(str(DL / "linux-image-6.1.0-*-amd64_*.deb")):
        def kernel_pkg():
            dep = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                                 capture_output=True, text=True).stdout
            m = re.search(r"Depends: (linux-image-6\.1\.0-\d+-amd64)\b", dep)
            return m
        m = kernel_pkg()
        if not m:
            sh(["apt-get", "update", "-qq"])
            m = kernel_pkg()
        if not m:
            sys.exit("run.py: apt knows no linux-image-6.1.0-*-amd64 (is this Debian 12?)")
        apt_download(m.group(1))
    if not glob.glob(str(DL / "busybox-static_*.deb")):
        apt_download("busybox-static")
    kdeb = sorted(glob.glob(str(DL / "linux-image-6.1.0-*-amd64_*.deb")))[-1]
    root = BUILD / "kernel"
    stamp = root / ".from"
    if not stamp.exists() or stamp.read_text() != kdeb:
        shutil.rmtree(root, ignore_errors=True)
        sh(["dpkg-deb", "-x", kdeb, str(root)])
        stamp.write_text(kdeb)
    bb = BUILD / "busybox"
    if not (bb / "bin/busybox").exists():
        sh(["dpkg-deb", "-x", glob.glob(str(DL / "busybox-static_*.deb"))[0], str(bb)])
    vmlinuz = glob.glob(str(root / "boot/vmlinuz-*"))[0]
    privcmd = glob.glob(str(root / "lib/modules/*/kernel/drivers/xen/xen-privcmd.ko"))[0]
    return Path(vmlinuz), Path(privcmd), bb / "bin/busybox"


def build_tools():
    """rshadowctl, static (glibc's crt-static, so no extra target is
    needed), and watchme, static."""
    env = dict(os.environ, RUSTFLAGS="-C target-feature=+crt-static",
               CARGO_TARGET_DIR=str(BUILD / "target"))
    sh(["cargo", "build", "-j1", "--release", "-p", "rshadowctl",
        "--target", "x86_64-unknown-linux-gnu"], cwd=TOP, env=env,
       stdout=subprocess.DEVNULL)
    ctl = BUILD / "target/x86_64-unknown-linux-gnu/release/rshadowctl"
    watchme = BUILD / "watchme"
    sh(["gcc", "-static", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(watchme),
        str(HERE / "watchme.c")])
    return ctl, watchme


def make_initramfs(ctl, watchme, privcmd, busybox):
    root = BUILD / "initramfs"
    shutil.rmtree(root, ignore_errors=True)
    for d in ["bin", "dev", "proc", "sys", "tmp", "lib/modules"]:
        (root / d).mkdir(parents=True)
    shutil.copy(busybox, root / "bin/busybox")
    (root / "bin/sh").symlink_to("busybox")
    shutil.copy(ctl, root / "bin/rshadowctl")
    sh(["strip", str(root / "bin/rshadowctl")])
    shutil.copy(watchme, root / "bin/watchme")
    shutil.copy(privcmd, root / "lib/modules/xen-privcmd.ko")
    shutil.copy(HERE / "init", root / "init")
    os.chmod(root / "init", 0o755)
    out = BUILD / "initramfs.cpio.gz"
    files = subprocess.run("find . | sort", shell=True, cwd=root, check=True,
                           capture_output=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=root,
                          input=files, capture_output=True, check=True).stdout
    out.write_bytes(subprocess.run(["gzip", "-9n"], input=cpio, capture_output=True,
                                   check=True).stdout)
    return out


# --- booting -----------------------------------------------------------------

# A dead dom0 never reaches the end: stop waiting once one of these shows.
DEAD = ("Kernel panic - not syncing", "Domain 0 crashed", "Dom0 crashed", "Panic on CPU")


def wait_log(proc, log, timeout, done="RSHADOW-E2E end"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if done in text:
            time.sleep(0.5)
            return True
        if any(d in text for d in DEAD):
            time.sleep(2)       # Let the backtrace reach the log.
            return False
        if proc.poll() is not None:
            return False
        time.sleep(0.5)
    return False


def kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def boot_qemu(vmlinuz, initrd, steps, log, xen=None, xen_args=None, linux_args=None,
              cpu="qemu64,+svm,+smep,+smap", mem=1024, timeout=None,
              done="RSHADOW-E2E end"):
    """Xen (multiboot) with Linux as dom0 and its initramfs in QEMU-SVM,
    until `done` shows in the serial log (True) or dom0 dies or time runs
    out (False).  The defaults are this test's; tests/linux/domu.py gives
    its own."""
    log.unlink(missing_ok=True)
    # KVM with the host's CPU where it is really usable (scripts/kvm.py).
    accel, _, why = kvm.qemu_accel()
    print(f"# {why}", flush=True)
    if accel[1] == "kvm":
        cpu = "host"
    cmd = ["qemu-system-x86_64", "-nographic", "-display", "none",
           "-m", str(mem), *accel, "-cpu", cpu, "-smp", "1",
           "-kernel", str(xen or XEN),
           "-initrd", f"{vmlinuz} {linux_args or LINUX_ARGS} rshadow_e2e.steps={steps},{initrd}",
           "-append", xen_args or XEN_ARGS,
           "-serial", f"file:{log}", "-monitor", "none", "-no-reboot"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(log.with_suffix(".stderr"), "w"),
                            start_new_session=True)
    try:
        return wait_log(proc, log, timeout or TIMEOUT, done=done)
    finally:
        kill(proc)


BOCHS_ROOT = Path(os.environ.get("RSHADOW_BOCHS_ROOT", "/opt/rust-shadow/bochs-trixie"))


def boot_bochs(vmlinuz, initrd, steps, log, timeout):
    """As tests/xtf/xtf-runner's BochsVmx: a GRUB rescue ISO, Bochs 3.0 in
    its chroot on a pty, killed by PID."""
    import pty
    import tempfile
    inner = Path(tempfile.mkdtemp(prefix="rshadow-linux-", dir=BOCHS_ROOT / "var/tmp"))
    rel = Path("/") / inner.relative_to(BOCHS_ROOT)
    try:
        iso = inner / "iso"
        (iso / "boot/grub").mkdir(parents=True)
        shutil.copy(XEN, iso / "boot/xen")
        shutil.copy(vmlinuz, iso / "boot/vmlinuz")
        shutil.copy(initrd, iso / "boot/initrd")
        (iso / "boot/grub/grub.cfg").write_text(
            "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n"
            "set timeout=0\nmenuentry xen {\n"
            f"    multiboot /boot/xen {XEN_ARGS} hap=0 apicv=0\n"
            f"    module /boot/vmlinuz {LINUX_ARGS} rshadow_e2e.steps={steps}\n"
            "    module /boot/initrd\n}\n")
        sh(["grub-mkrescue", "-o", str(inner / "boot.iso"), str(iso)],
           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (inner / "bochsrc").write_text(
            "megs: 1024\n"
            "cpu: model=tigerlake, count=1, ips=200000000\n"
            "clock: sync=none\n"
            "romimage: file=/usr/share/bochs/BIOS-bochs-latest\n"
            "vgaromimage: file=/usr/share/vgabios/vgabios.bin\n"
            f"ata0-master: type=cdrom, path={rel}/boot.iso, status=inserted\n"
            "boot: cdrom\n"
            "display_library: term\n"
            f"com1: enabled=1, mode=file, dev={rel}/serial.log\n"
            f"log: {rel}/bochs.log\n"
            "mouse: enabled=0\nspeaker: enabled=0\n"
            "panic: action=fatal\nerror: action=report\n"
            "info: action=ignore\ndebug: action=ignore\n")
        (inner / "cmds").write_text("c\n")
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            ["chroot", str(BOCHS_ROOT), "bochs-bin", "-q", "-f", f"{rel}/bochsrc",
             "-rc", f"{rel}/cmds"],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env={"TERM": "vt100", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        os.close(slave)

        # The term display redraws the screen on the pty: drain it so Bochs
        # never blocks on a full terminal.
        def drain():
            try:
                while os.read(master, 65536):
                    pass
            except OSError:
                pass
        threading.Thread(target=drain, daemon=True).start()
        try:
            ok = wait_log(proc, inner / "serial.log", timeout)
        finally:
            kill(proc)
            os.close(master)
        if (inner / "serial.log").exists():
            shutil.copy(inner / "serial.log", log)
        if (inner / "bochs.log").exists():
            shutil.copy(inner / "bochs.log", log.with_suffix(".bochs"))
        return ok
    finally:
        shutil.rmtree(inner, ignore_errors=True)


# --- checking ----------------------------------------------------------------

def json_between(lines, begin, end):
    """The JSON records (one per line, after any prefix) between two markers."""
    recs = []
    for l in between(lines, begin, end):
        i = l.find("{")
        if i >= 0:
            try:
                recs.append(json.loads(l[i:]))
            except json.JSONDecodeError:
                pass
    return recs


def between(lines, begin, end):
    out, on = [], False
    for l in lines:
        if l.startswith(begin):
            on = True
        elif l.startswith(end):
            return out
        elif on:
            out.append(l)
    return out


def check_touch(p, recs, txt, gfn, page, store, nxt, end, steps, windows=1, cr3=None):
    """The trace of one touch() (tests/linux/touch.h) of a page at virtual
    address `page`, frame `gfn`: the write record, its `steps` steps in
    touch()'s code, their disassembly, and the text form `txt`.  Records
    p/trace-access, -steps, -disasm and -text; False when there was no
    write record at all.  `windows`: how many touches the text may show
    (None: any number, for a process that keeps touching).  Every record
    of the window names the address space it ran in: `cr3` where the
    caller knows the process's, else one and the same nonzero CR3."""
    acc = [i for i, r in enumerate(recs)
           if r.get("kind") == "write" and int(r["gfn"], 16) == gfn]
    if not acc:
        record("FAIL", f"{p}/trace-access", f"no write record of gfn {gfn:#x} in {len(recs)} records")
        return False
    a = recs[acc[0]]
    ok = (int(a["rip"], 16) == store and int(a["linear"], 16) == page and a["size"] == 4
          and a["value"] == "0x5a5a1234" and a["cpl"] == 3 and a.get("schema") == 1
          and a["insn"] == "mov dword ptr [rdi], 0x5a5a1234")
    record("PASS" if ok else "FAIL", f"{p}/trace-access",
           f"write rip {a['rip']} (store {store:#x}) at {a['linear']} (page {page:#x}) "
           f"value {a['value']} insn '{a['insn']}'")
    st = [r for r in recs[acc[0] + 1:acc[0] + 1 + steps] if r.get("kind") == "step"]
    space = int(a.get("cr3", "0x0"), 16)
    ok = (space != 0 and (cr3 is None or space == cr3)
          and all(int(r.get("cr3", "0x0"), 16) == space for r in st))
    record("PASS" if ok else "FAIL", f"{p}/trace-cr3",
           f"the access ran in cr3 {space:#x}" + ("" if cr3 is None else f" (the process's: {cr3:#x})")
           + f", its steps in {sorted({r.get('cr3') for r in st})}")
    rips = [int(r["rip"], 16) for r in st]
    chain = all(int(st[k]["next_rip"], 16) == rips[k + 1] for k in range(len(st) - 1))
    ok = (len(st) == steps and [r["step"] for r in st] == list(range(steps))
          and rips[:1] == [nxt] and all(nxt <= x < end for x in rips) and chain)
    record("PASS" if ok else "FAIL", f"{p}/trace-steps",
           f"{len(st)} steps of {steps}, rips {[hex(x) for x in rips]} in [{nxt:#x}, {end:#x})")
    want = EXPECTED_STEPS[:steps]
    got = [r["insn"] for r in st]
    record("PASS" if got == want else "FAIL", f"{p}/trace-disasm",
           f"{got}" + ("" if got == want else f" != {want}"))
    t = "\n".join(txt)
    ok = (f"write 4 bytes at {page:#x} (gfn {gfn:#x}) value 0x5a5a1234 cpl3 long64" in t
          and all(w in t for w in want)
          and (sum("step" in l for l in txt) == steps * windows if windows
               else sum("step" in l for l in txt) >= steps))
    record("PASS" if ok else "FAIL", f"{p}/trace-text", "the text trace shows the access and its steps")
    return True


def log_lines(text):
    return [l.rstrip("\r") for l in text.replace("\r\n", "\n").split("\n")]


def record_checks(lines, marker, prefix):
    """Records each "MARKER name PASS|FAIL detail" line a guest printed."""
    for l in lines:
        m = re.search(rf"{marker} (\S+) (PASS|FAIL)(.*)$", l)
        if m:
            record(m.group(2), f"{prefix}{m.group(1)}", m.group(3).strip())


def key_values(lines, marker):
    """The key=value pairs of the last "MARKER pid=..." line, or {}."""
    info = {}
    for l in lines:
        m = re.search(rf"{marker} (pid=.*)$", l)
        if m:
            info = dict(kv.split("=", 1) for kv in m.group(1).split())
    return info


def check_log(text, plat, steps):
    p = f"linux/{plat}"
    lines = log_lines(text)
    record("PASS" if "RSHADOW-E2E begin" in text else "FAIL", f"{p}/boot",
           "dom0 Linux reached /init")
    record_checks(lines, "E2E-CHECK", f"{p}/rshadowctl-")
    info = key_values(lines, "WATCHME")
    if not info:
        record("FAIL", f"{p}/watchme", "watchme printed nothing")
        return
    page, gfn = int(info["page"], 16), int(info["gfn"], 16)
    store, nxt, end = (int(info[k], 16) for k in ("store", "next", "end"))

    recs = json_between(lines, "WATCHME-JSON-BEGIN", "WATCHME-JSON-END")
    txt = between(lines, "WATCHME-TEXT-BEGIN", "WATCHME-TEXT-END")
    if not check_touch(p, recs, txt, gfn, page, store, nxt, end, steps):
        return
    want = EXPECTED_STEPS[:steps]

    # Streaming: a tracer started before the access, exiting after --count.
    srecs = json_between(lines, "WATCHME-STREAM-BEGIN", "WATCHME-STREAM-END")
    end_line = next((l for l in lines if l.startswith("WATCHME-STREAM-END")), "")
    ok = (len(srecs) == steps + 1 and srecs[0].get("kind") == "write"
          and int(srecs[0]["rip"], 16) == store
          and [r.get("insn") for r in srecs[1:]] == EXPECTED_STEPS[:steps]
          and end_line.endswith("rc=0"))
    record("PASS" if ok else "FAIL", f"{p}/trace-stream",
           f"{len(srecs)} records streamed, {end_line.strip()}")
    # Until interrupted: the text tracer shows the access and its steps,
    # then, on SIGINT (Ctrl-C), prints what it read and exits 0.
    stxt = between(lines, "WATCHME-SIGINT-BEGIN", "WATCHME-SIGINT-END")
    end_line = next((l for l in lines if l.startswith("WATCHME-SIGINT-END")), "")
    ok = (any("write 4 bytes at" in l for l in stxt)
          and sum(" step " in l for l in stxt) == steps
          and end_line.endswith("signal=0 rc=0"))
    record("PASS" if ok else "FAIL", f"{p}/trace-interrupt",
           f"{len(stxt)} lines, then {end_line.strip()}")

    # An SSE store (movups, as glibc's memset does): emulated with the
    # guest's own FPU state and recorded like any store, 16 bytes (too wide
    # for the record's value), followed by its steps; the watch stays
    # enabled and no error is counted.
    sse = next((l for l in lines if l.startswith("WATCHME sse=")), "")
    srecs = json_between(lines, "WATCHME-SSE-BEGIN", "WATCHME-SSE-END")
    m = re.search(r"sse=(0x[0-9a-f]+) value=(0x[0-9a-f]+)", sse)
    writes = [r for r in srecs if r.get("kind") == "write"]
    errs = [r for r in srecs if r.get("kind") == "error"]
    nsteps = sum(r.get("kind") == "step" for r in srecs)
    end_at = next((i for i, l in enumerate(lines) if l.startswith("WATCHME-SSE-END")), None)
    after = lines[end_at:end_at + 16] if end_at is not None else []
    wlines = [l for l in after if re.match(rf"\s*{gfn:#x}\b", l)]
    serr = next((l for l in after if re.match(r"\s*errors\s+\d+", l)), "")
    w = writes[0] if writes else {}
    ok = (m is not None and m.group(2) == "0x0" and len(writes) == 1 and not errs
          and int(w["rip"], 16) == int(m.group(1), 16)
          and int(w["linear"], 16) == page and int(w["gfn"], 16) == gfn
          and w["size"] == 16 and w["value"] is None and w["cpl"] == 3
          and re.fullmatch(r"movups (xmmword ptr )?\[r\w+\], xmm0", w["insn"] or "")
          and nsteps == steps
          and len(wlines) == 1 and "disabled" not in wlines[0]
          and re.fullmatch(r"\s*errors\s+0", serr))
    record("PASS" if ok else "FAIL", f"{p}/trace-sse",
           f"SSE store at {m.group(1) if m else '?'}: "
           f"{[(r['rip'], r['linear'], r['size'], r['value'], r['insn']) for r in writes]}, "
           f"{nsteps} steps, errors {[(r['error'], r['rip']) for r in errs]}, "
           f"watch {wlines[0].strip() if wlines else '(not listed)'}, {serr.strip()}")

    # A user movsl from a page watched for reads into kernel text: the
    # emulated copy must fault as the CPU does, a SIGSEGV at the kernel
    # address with error code 7 (present, write, user), not write it.
    tgt = next((l for l in lines if l.startswith("WATCHME privilege-target=")), "")
    got = next((l for l in lines if l.startswith("WATCHME privilege ")), "")
    m = re.search(r"privilege-target=(0x[0-9a-f]+)", tgt)
    g = re.search(r"signal=(\d+) addr=(0x[0-9a-f]+) trapno=(\d+) err=(\d+)", got)
    ok = (m is not None and g is not None and g.group(1) == "11"
          and int(g.group(2), 16) == int(m.group(1), 16)
          and g.group(3) == "14" and g.group(4) == "7")
    record("PASS" if ok else "FAIL", f"{p}/privilege-user-copy-to-kernel",
           f"{tgt.strip()}: {got.strip() or 'nothing printed'}")

    # A user divl by a watched zero: SIGFPE (#DE) at the div as natively,
    # the watch still listed as on, and the next write to the page recorded.
    head = next((l for l in lines if l.startswith("WATCHME exception-page=")), "")
    got = next((l for l in lines if l.startswith("WATCHME exception ")), "")
    m = re.search(r"exception-page=(0x[0-9a-f]+) gfn=(0x[0-9a-f]+) div=(0x[0-9a-f]+)", head)
    g = re.search(r"signal=(\d+) addr=(0x[0-9a-f]+) trapno=(\d+)", got)
    listed = []
    if m:
        start = lines.index(got) if got in lines else 0
        listed = [l for l in lines[start:start + 12]
                  if re.match(rf"\s*{int(m.group(2), 16):#x}\b", l)]
    erecs = json_between(lines, "WATCHME-EXCEPTION-TRACE-BEGIN", "WATCHME-EXCEPTION-TRACE-END")
    writes = [r for r in erecs if r.get("kind") == "write" and m
              and int(r["linear"], 16) == int(m.group(1), 16) + 4 and r["value"] == "0x600d"]
    ok = (m is not None and g is not None and g.group(1) == "8" and g.group(3) == "0"
          and int(g.group(2), 16) == int(m.group(3), 16)
          and len(listed) == 1 and "disabled" not in listed[0] and len(writes) == 1)
    record("PASS" if ok else "FAIL", f"{p}/exception-keeps-watching",
           f"{got.strip() or 'no signal line'}; watch "
           f"{listed[0].strip() if listed else '(not listed)'}; {len(writes)} write record(s) after")

    # A #DE inside a stepping window: the signal frame shows the program's
    # own flags (TF clear) and no SIGTRAP follows, as natively.
    fr = next((l for l in lines if l.startswith("WATCHME frame ")), "")
    g = re.search(r"eflags=(0x[0-9a-f]+|-1) sigtraps=(\d+)", fr)
    ok = (g is not None and g.group(1) != "-1" and not int(g.group(1), 16) & 0x100
          and g.group(2) == "0")
    record("PASS" if ok else "FAIL", f"{p}/signal-frame-without-tf",
           fr.strip() or "watchme printed no frame line")

    # alarm(1), then a spin reading a page watched with steps: every read
    # restarts the window, yet the alarm must come, in about a second.
    sp = next((l for l in lines if l.startswith("WATCHME spin ")), "")
    g = re.search(r"alarmed=(\d) reads=(\d+) ms=(\d+)", sp)
    ok = g is not None and g.group(1) == "1" and int(g.group(2)) > 0 and int(g.group(3)) < 10000
    record("PASS" if ok else "FAIL", f"{p}/spin-sees-its-signal",
           sp.strip() or "watchme printed no spin line (the domain wedged?)")

    # The kernel's own write (read() into the page): a CPL-0 access whose
    # instruction and steps are kernel code, read from /proc/kcore.
    krecs = json_between(lines, "WATCHME-KERNEL-BEGIN", "WATCHME-KERNEL-END")
    kacc = [i for i, r in enumerate(krecs) if r.get("kind") == "write"
            and r["cpl"] == 0 and int(r["gfn"], 16) == gfn
            and page <= int(r["linear"], 16) < page + 4096]
    if not kacc:
        record("FAIL", f"{p}/trace-kernel", f"no CPL-0 write of the page in {len(krecs)} records")
        return
    a = krecs[kacc[0]]
    # A string copy writes the page once per iteration, each a watched
    # access that restarts the window: the steps follow the last of them.
    i = kacc[0] + 1
    while i < len(krecs) and krecs[i].get("kind") == "write" and krecs[i]["rip"] == a["rip"]:
        i += 1
    ksteps = []
    for r in krecs[i:]:
        if r.get("kind") != "step":
            break
        ksteps.append(r)
    # The window runs its budget out, or yields early to an interrupt that
    # has waited as long as the budget allows (a `yield` record follows).
    after = krecs[i + len(ksteps)] if i + len(ksteps) < len(krecs) else {}
    yielded = after.get("kind") == "yield" and after.get("steps") == len(ksteps)
    ok = (int(a["rip"], 16) >= 0xffff800000000000 and a["insn"] is not None
          and (len(ksteps) == steps or (yielded and len(ksteps) < steps))
          and [r["step"] for r in ksteps] == list(range(len(ksteps)))
          and all(r["insn"] is not None for r in ksteps if r["cpl"] == 0)
          and (a.get("symbol") or "").startswith("copy_user"))
    record("PASS" if ok else "FAIL", f"{p}/trace-kernel",
           f"kernel write at rip {a['rip']} <{a.get('symbol')}> '{a['insn']}' x{i - kacc[0]}, "
           f"{len(ksteps)} steps{', then a yield' if yielded else ''}: "
           f"{[r['insn'] for r in ksteps]}")
    record("PASS" if "RSHADOW-E2E end" in text else "FAIL", f"{p}/finished")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--platform", choices=["qemu-svm", "bochs-vmx", "all"], default="qemu-svm")
    ap.add_argument("--steps", type=int, default=8, choices=range(1, 13), metavar="1-12")
    ap.add_argument("--demo", action="store_true",
                    help="boot once and show the trace of the real program")
    ap.add_argument("--bochs-timeout", type=int, default=600)
    ap.add_argument("--linux-args", default="",
                    help="more Linux command-line options (e.g. earlyprintk=xen)")
    args = ap.parse_args()
    # A SIGTERM (a CI timeout, `timeout`) unwinds like ^C, so the finally
    # blocks kill the emulator: Bochs runs in its own session and would
    # otherwise spin on after us.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    global LINUX_ARGS
    LINUX_ARGS = " ".join(filter(None, [LINUX_ARGS, args.linux_args]))
    if not XEN.exists():
        sys.exit(f"run.py: {XEN} not built (make xen)")
    t0 = time.monotonic()
    vmlinuz, privcmd, busybox = fetch()
    ctl, watchme = build_tools()
    initrd = make_initramfs(ctl, watchme, privcmd, busybox)
    print(f"# prepared in {time.monotonic() - t0:.0f} s: {vmlinuz.name}, "
          f"initramfs {initrd.stat().st_size // 1024} KiB", flush=True)

    plats = ["qemu-svm", "bochs-vmx"] if args.platform == "all" else [args.platform]
    for plat in plats:
        log = BUILD / f"serial-{plat}.log"
        t = time.monotonic()
        if plat == "qemu-svm":
            if not shutil.which("qemu-system-x86_64"):
                record("SKIP", f"linux/{plat}", "qemu-system-x86_64 not installed")
                continue
            done = boot_qemu(vmlinuz, initrd, args.steps, log)
        else:
            if not (BOCHS_ROOT / "usr/bin/bochs-bin").exists():
                record("SKIP", f"linux/{plat}", f"Bochs 3.0 not in {BOCHS_ROOT}")
                continue
            done = boot_bochs(vmlinuz, initrd, args.steps, log, args.bochs_timeout)
        secs = time.monotonic() - t
        text = log.read_bytes().decode(errors="replace") if log.exists() else ""
        if args.demo:
            demo(text)
            import contextlib
            import io
            with contextlib.redirect_stdout(io.StringIO()):
                check_log(text, plat, args.steps)
            bad = [n for st, n in results if st == "FAIL"]
            print(f"\n== {len(results) - len(bad)} of the end-to-end test's {len(results)} checks "
                  f"passed on this boot{': failed ' + ', '.join(bad) if bad else ''} ==")
            return 1 if bad else 0
        print(f"# {plat}: booted and ran in {secs:.0f} s; serial log {log}", flush=True)
        if not done and "RSHADOW-E2E begin" not in text:
            record("FAIL", f"linux/{plat}/boot",
                   f"no result in {secs:.0f} s; last line: {text.strip().splitlines()[-1:]}")
            continue
        check_log(text, plat, args.steps)
    passed = sum(s == "PASS" for s, _ in results)
    failed = sum(s == "FAIL" for s, _ in results)
    skipped = sum(s == "SKIP" for s, _ in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def demo(text):
    lines = [l.rstrip("\r") for l in text.replace("\r\n", "\n").split("\n")]
    print("\n== Debian's Linux as a PVH dom0 under the patched Xen (QEMU, shadow paging) ==")
    for l in lines:
        if l.startswith("RSHADOW-E2E begin") or "rust-shadow:" in l:
            print(l.replace("RSHADOW-E2E begin", "dom0 reached /init: Linux"))
    print("\n== watchme: a page of its own, watched by rshadowctl ==")
    for l in between(lines, "RSHADOW-E2E watchme", "WATCHME-JSON-BEGIN"):
        print(l)
    print("\n== rshadowctl trace 0 --pid <watchme> (text) ==")
    for l in between(lines, "WATCHME-TEXT-BEGIN", "WATCHME-TEXT-END"):
        print(l)
    print("\n== the same page written by the kernel: read(fd, page, 64) ==")
    for l in between(lines, "WATCHME-KTEXT-BEGIN", "WATCHME-KTEXT-END"):
        print(l)
    print("\n== an SSE store to the page (movups, as glibc's memset does) ==")
    print("== (emulated on the guest's own FPU state: recorded, the watch stays enabled) ==")
    for l in between(lines, "WATCHME-SSE-BEGIN", "WATCHME-SSE-END"):
        # rshadowctl's JSON line (the test reads it), shortened
        try:
            r = json.loads(l[l.index("{"):])
            if r["kind"] == "step":
                print(f"    step {r['step']:<3} {r['rip']}  {r['insn'] or '?'}")
            elif r["kind"] == "error":
                print(f"v{r['vcpu']} #{r['seq']} ERROR {r['error']} at rip {r['rip']}")
            else:
                print(f"v{r['vcpu']} #{r['seq']} {r['kind']} {r['size']} bytes at "
                      f"{r['linear']} (gfn {r['gfn']})\n"
                      f"    {r['rip']}  {r['insn'] or '(code not readable)'}")
        except (ValueError, KeyError):
            print(l)
    print("\n== rshadowctl list 0 / stats 0 ==")
    on = False
    for l in lines:
        if l.startswith("WATCHME-SSE-END"):
            on = True
        elif l.startswith("WATCHME unwatch"):
            break
        elif on:
            print(l)


if __name__ == "__main__":
    sys.exit(main())
