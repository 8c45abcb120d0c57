#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""rshadowctl end to end through Xen's own toolstack: a Linux dom0 watches
a process in a Linux domU.

The patched Xen boots in QEMU (AMD SVM, shadow paging) with Debian's Linux
6.1 as a PV dom0.  Dom0's root filesystem is built by mmdebstrap from
Debian 12's packages, Xen's own tools xen-utils-4.17 among them at the
pinned source's exact version, and runs from the initramfs.  Its /init
(tests/linux/dom0-init) starts Xen's daemons with Debian's init script,
creates a PVH domU with `hap=0` by `xl create`, running the same kernel and
a busybox initramfs whose target program (tests/linux/target.c) writes a
page of its own ten times a second.  Dom0 then watches that page by its
virtual address and prints the trace, which this script checks.

Why a PV dom0: it is the dom0 Xen 4.17 supports (PVH dom0 is experimental
and assumes an IOMMU), and the traced guest is the domU.

It prints one "PASS|FAIL|SKIP domu/<platform>/<check> detail" line per
check and, last, "N passed, N failed, N skipped"; the exit status is 1 when
anything failed.

  tests/linux/domu.py            # the test, on QEMU-SVM
  tests/linux/domu.py --demo     # show the trace of the domU's process

Environment: BUILD (default build/; this uses BUILD/domu and the kernel
BUILD/linux fetched by tests/linux/run.py), RSHADOW_XEN (the hypervisor),
RSHADOW_DOMU_TIMEOUT (seconds, default 600).
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run as linux
from run import record, results, sh

TOP = linux.TOP
HERE = linux.HERE
BUILD = linux.BUILD_ROOT / "domu"
XEN = linux.XEN
TIMEOUT = int(os.environ.get("RSHADOW_DOMU_TIMEOUT", "600"))

# The pinned Xen source's version: the toolstack must match the hypervisor.
XEN_TOOLS_VERSION = "4.17.5+72-g01140da4e8-1"
SUITE = "bookworm"
# What dom0 needs beyond Debian's essential set: Xen's tools (which pull in
# python3, udev and the libxen* libraries), kmod for modprobe, mount.
PACKAGES = [f"xen-utils-4.17={XEN_TOOLS_VERSION}", "kmod", "mount"]
# Paths nothing here reads, left out of the root filesystem to keep it
# (and the boot) small.
EXCLUDE = ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*",
           "/usr/share/info/*", "/usr/lib/udev/hwdb.d/*"]

XEN_ARGS = ("console=com1 loglvl=all guest_loglvl=all noreboot "
            "dom0_mem=768M,max:768M dom0_max_vcpus=1 bootscrub=false")
# No acpi=off: a PV dom0 without ACPI gives the Xen console's interrupt the
# RTC's legacy IRQ 8, and /init finds no console.
LINUX_ARGS = "console=hvc0 loglevel=4"
# The domU: PVH on shadow paging, the same kernel, the target's initramfs.
# Not acpi=off: without the MADT xl gives it, Linux sets up no timer and the
# idle domU never wakes again.
DOMU_CFG = """\
name = "target"
type = "pvh"
hap = 0
memory = 256
vcpus = 1
kernel = "/boot/vmlinuz-domu"
ramdisk = "/boot/domu.cpio.gz"
extra = "console=hvc0 loglevel=4"
on_crash = "preserve"
"""


def debian_mirror():
    """The URI apt uses here for the Debian 12 archive (deb822 or one-line
    sources), so the root filesystem comes from the same place as the rest
    of the build's packages."""
    files = glob.glob("/etc/apt/sources.list.d/*.sources")
    for f in files:
        for stanza in Path(f).read_text().split("\n\n"):
            kv = dict(l.split(":", 1) for l in stanza.splitlines()
                      if ":" in l and not l.startswith("#"))
            if SUITE in kv.get("Suites", "").split() and "deb" in kv.get("Types", "").split():
                return kv["URIs"].split()[0]
    for f in ["/etc/apt/sources.list"] + glob.glob("/etc/apt/sources.list.d/*.list"):
        for l in Path(f).read_text().splitlines() if Path(f).exists() else []:
            w = l.split()
            if len(w) >= 3 and w[0] == "deb" and SUITE in w:
                return next(x for x in w[1:] if "://" in x)
    sys.exit("domu.py: no Debian 12 (bookworm) entry in apt's sources")


def rootfs():
    """Dom0's root filesystem from Debian 12's packages, as a tarball cached
    under BUILD/domu and keyed by what goes into it.  Only bookworm's main
    suite is given, so every Xen library resolves at the pinned version."""
    key = hashlib.sha256(repr((SUITE, PACKAGES, EXCLUDE)).encode()).hexdigest()[:12]
    out = BUILD / f"rootfs-{key}.tar"
    if out.exists():
        return out
    BUILD.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    with tempfile.NamedTemporaryFile("w", suffix=".list") as src:
        src.write(f"deb {debian_mirror()} {SUITE} main\n")
        src.flush()
        cmd = ["mmdebstrap", "--quiet", "--variant=essential", "--format=tar",
               "--include=" + ",".join(PACKAGES)]
        cmd += [f"--dpkgopt=path-exclude={p}" for p in EXCLUDE]
        sh(cmd + [SUITE, str(out) + ".new", src.name])
    os.rename(str(out) + ".new", out)
    print(f"# dom0 root filesystem built in {time.monotonic() - t:.0f} s: "
          f"{out.stat().st_size // (1 << 20)} MiB", flush=True)
    return out


def cpio_gz(root, out, level):
    files = subprocess.run("find . | sort", shell=True, cwd=root, check=True,
                           capture_output=True).stdout
    with open(out, "wb") as f:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
                                cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", f"-{level}n"], stdin=cpio.stdout, stdout=f)
        cpio.stdout.close()
        cpio.stdin.write(files)
        cpio.stdin.close()
        if cpio.wait() or gz.wait():
            sys.exit(f"domu.py: packing {out} failed")
    return out


def build_target():
    target = BUILD / "target"
    sh(["gcc", "-static", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(target),
        str(HERE / "target.c")])
    return target


def build_trace_c():
    """tests/linux/trace-c.c, static, on rshadowctl's C API: the header
    cbindgen generated and librshadowctl.a from tests/linux/run.py's
    build."""
    lib = linux.BUILD / "target/x86_64-unknown-linux-gnu/release"
    out = BUILD / "trace-c"
    sh(["gcc", "-static", "-O1", "-Wall", "-Wextra", "-Werror",
        "-I", str(TOP / "tools/rshadowctl/include"), "-o", str(out),
        str(HERE / "trace-c.c"), "-L", str(lib), "-lrshadowctl", "-lpthread", "-ldl", "-lm"])
    return out


def build_drop_gfn():
    """tests/linux/drop-gfn.c on Xen's libxenctrl, linked against Debian's
    (libxen-dev) as dom0's xen-utils-4.17 installs it."""
    out = BUILD / "drop-gfn"
    sh(["gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(out),
        str(HERE / "drop-gfn.c"), "-lxenctrl"])
    return out


def domu_initramfs(busybox, target):
    root = BUILD / "domu-root"
    shutil.rmtree(root, ignore_errors=True)
    for d in ["bin", "dev", "proc", "sys", "tmp"]:
        (root / d).mkdir(parents=True)
    shutil.copy(busybox, root / "bin/busybox")
    (root / "bin/sh").symlink_to("busybox")
    shutil.copy(target, root / "bin/target")
    shutil.copy(HERE / "domu-init", root / "init")
    os.chmod(root / "init", 0o755)
    return cpio_gz(root, BUILD / "domu.cpio.gz", 9)


def dom0_initramfs(tar, vmlinuz, kernel_root, ctl, trace_c, drop_gfn, domu):
    """The root filesystem, and on it: /init, the kernel's Xen modules,
    the domU's kernel, initramfs and xl config, rshadowctl."""
    root = BUILD / "dom0-root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    sh(["tar", "-C", str(root), "-xf", str(tar)])
    kver = os.listdir(kernel_root / "lib/modules")[0]
    src = kernel_root / "lib/modules" / kver
    dst = root / "lib/modules" / kver
    (dst / "kernel/drivers").mkdir(parents=True)
    shutil.copytree(src / "kernel/drivers/xen", dst / "kernel/drivers/xen")
    for f in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        if (src / f).exists():
            shutil.copy(src / f, dst / f)
    sh(["chroot", str(root), "depmod", kver])
    shutil.copy(HERE / "dom0-init", root / "init")
    os.chmod(root / "init", 0o755)
    shutil.copy(vmlinuz, root / "boot/vmlinuz-domu")
    shutil.copy(domu, root / "boot/domu.cpio.gz")
    (root / "etc/xen").mkdir(parents=True, exist_ok=True)
    (root / "etc/xen/target.cfg").write_text(DOMU_CFG)
    (root / "etc/default/xen").write_text(
        (root / "etc/default/xen").read_text() + "\nXENCONSOLED_ARGS=\"--log=guest --log-dir=/var/log/xen/console\"\n")
    (root / "usr/local/sbin").mkdir(parents=True, exist_ok=True)
    shutil.copy(ctl, root / "usr/local/sbin/rshadowctl")
    sh(["strip", str(root / "usr/local/sbin/rshadowctl")])
    shutil.copy(trace_c, root / "usr/local/sbin/trace-c")
    shutil.copy(drop_gfn, root / "usr/local/sbin/drop-gfn")
    return cpio_gz(root, BUILD / "dom0.cpio.gz", 1)


def boot_qemu(vmlinuz, initrd, steps, log):
    # No SMAP: a PV dom0 crashes at its first bounce frame on QEMU's SMAP
    # (a #PF on its present kernel stack).
    return linux.boot_qemu(vmlinuz, initrd, steps, log, xen=XEN, xen_args=XEN_ARGS,
                           linux_args=LINUX_ARGS, cpu="qemu64,+svm,+smep", mem=1536,
                           timeout=TIMEOUT, done="RSHADOW-DOMU end")


def check_interrupted(p, lines):
    """Ctrl-C on a trace that sleeps on Xen's signal: it exits 0, its
    records are whole lines in time order, and with the --once reader's
    after it every vCPU's sequence runs on without a gap (the target is
    slow enough for no ring to drop), so no record read was lost."""
    rc = next((l.split("rc=")[1] for l in lines if l.startswith("DOMU-INT rc=")), "?")
    first = linux.json_between(lines, "DOMU-INT-BEGIN", "DOMU-INT-SPLIT")
    after = linux.json_between(lines, "DOMU-INT-SPLIT", "DOMU-INT-END")
    recs = [r for r in first + after if "seq" in r]
    lost = [r for r in first + after if r.get("kind") == "lost"]
    gaps = []
    for v in sorted({r["vcpu"] for r in recs}):
        seqs = [r["seq"] for r in recs if r["vcpu"] == v]
        gaps += [(v, a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    times = [r["time_ns"] for r in first if "time_ns" in r]
    ok = (rc == "0" and len(first) > 0 and not gaps and not lost
          and times == sorted(times))
    record("PASS" if ok else "FAIL", f"{p}/trace-interrupted",
           f"exit {rc}; {len(first)} records before Ctrl-C, {len(after)} after; "
           f"gaps {gaps[:4]}, lost lines {len(lost)}, in time order: {times == sorted(times)}")


def check_log(text, plat, steps):
    p = f"domu/{plat}"
    lines = linux.log_lines(text)
    record("PASS" if "RSHADOW-DOMU begin" in text else "FAIL", f"{p}/boot",
           "PV dom0 reached /init")
    linux.record_checks(lines, "DOMU-CHECK", f"{p}/")
    info = linux.key_values(lines, "DOMU-TARGET TARGET")
    if not info:
        record("FAIL", f"{p}/target", "the domU's target printed nothing")
    else:
        # The trace of the target's writes, read from dom0: the access and
        # its steps disassembled from the domU's memory, through the CR3
        # found above.
        page, gfn, store, nxt, end = (int(info[k], 16)
                                      for k in ("va", "gfn", "store", "next", "end"))
        recs = linux.json_between(lines, "DOMU-JSON-BEGIN", "DOMU-JSON-END")
        txt = linux.between(lines, "DOMU-TEXT-BEGIN", "DOMU-TEXT-END")
        cr3 = next((l.split()[1] for l in lines if l.startswith("DOMU-CR3 ")
                    and len(l.split()) > 1), "0x0")
        linux.check_touch(p, recs, txt, gfn, page, store, nxt, end, steps, windows=None,
                          cr3=int(cr3, 16))
    check_interrupted(p, lines)
    # The C API: a C program found the domain by name and read the
    # target's write and the steps after it.
    capi = " ".join(linux.between(lines, "DOMU-CAPI-BEGIN", "DOMU-CAPI-END"))
    dom = next((l.split()[1] for l in lines if l.startswith("DOMU-DOMID ")), "?")
    m = re.search(r"CAPI write gfn=(\S+) linear=(\S+) rip=(\S+) value=(\S+) size=(\d+) "
                  r"cpl=(\d) steps=(\d+) first-step=(\S+)", capi)
    ok = (m is not None and info
          and f"CAPI domid={dom} nosuch={-3}" in capi and "null-buffer=-22" in capi
          and "CAPI notify=0" in capi
          and int(m.group(1), 16) == int(info["gfn"], 16)
          and int(m.group(2), 16) == int(info["va"], 16)
          and int(m.group(3), 16) == int(info["store"], 16)
          and m.group(4) == "0x5a5a1234" and m.group(5) == "4" and m.group(6) == "3"
          and int(m.group(7)) >= 1 and int(m.group(8), 16) == int(info["next"], 16))
    record("PASS" if ok else "FAIL", f"{p}/c-api", capi.strip() or "trace-c printed nothing")
    # jiffies, watched by name: the kernel's writes of it, at its address,
    # their instructions and steps read from the domU's kernel memory, and
    # named from the slid symbols file with the slide found.
    jv = next((l.split()[1] for l in lines if l.startswith("DOMU-JIFFIES ")
               and len(l.split()) > 1), "")
    krecs = linux.json_between(lines, "DOMU-KJSON-BEGIN", "DOMU-KJSON-END")
    ksyms = {l.split()[2] for l in linux.between(lines, "DOMU-KSYMS-BEGIN", "DOMU-KSYMS-END")
             if len(l.split()) == 3 and l.split()[1] in "tT"}
    kw = [i for i, r in enumerate(krecs) if r.get("kind") in ("write", "rmw")
          and jv and int(r["linear"], 16) == int(jv, 16)]
    ksteps = [r for i in kw for r in krecs[i + 1:i + 5] if r.get("kind") == "step"]
    ok = (bool(kw) and all(krecs[i]["cpl"] == 0 and krecs[i]["insn"] for i in kw)
          and all(r["insn"] and r["cpl"] == 0 for r in ksteps) and len(ksteps) >= 4
          and all((krecs[i].get("symbol") or "").split("+")[0] in ksyms for i in kw))
    a = krecs[kw[0]] if kw else {}
    record("PASS" if ok else "FAIL", f"{p}/trace-ksym",
           f"{len(kw)} kernel writes of jiffies ({jv}) in {len(krecs)} records; first at "
           f"{a.get('rip')} <{a.get('symbol')}> '{a.get('insn')}', "
           f"steps {[r['insn'] for r in ksteps[:4]]}")
    record("PASS" if "RSHADOW-DOMU end" in text else "FAIL", f"{p}/finished")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=12, choices=range(1, 13), metavar="1-12")
    ap.add_argument("--demo", action="store_true",
                    help="boot once and show the trace of the domU's process")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if not XEN.exists():
        sys.exit(f"domu.py: {XEN} not built (make xen)")
    t0 = time.monotonic()
    vmlinuz, _, busybox = linux.fetch()
    ctl, _ = linux.build_tools()
    tar = rootfs()
    domu = domu_initramfs(busybox, build_target())
    initrd = dom0_initramfs(tar, vmlinuz, linux.BUILD / "kernel", ctl, build_trace_c(),
                            build_drop_gfn(), domu)
    print(f"# prepared in {time.monotonic() - t0:.0f} s: {vmlinuz.name}, dom0 initramfs "
          f"{initrd.stat().st_size // (1 << 20)} MiB", flush=True)
    plat = "qemu-svm"
    log = BUILD / f"serial-{plat}.log"
    t = time.monotonic()
    done = boot_qemu(vmlinuz, initrd, args.steps, log)
    secs = time.monotonic() - t
    text = log.read_bytes().decode(errors="replace") if log.exists() else ""
    if args.demo:
        return demo(text, plat, args.steps)
    print(f"# {plat}: booted and ran in {secs:.0f} s; serial log {log}", flush=True)
    if not done and "RSHADOW-DOMU begin" not in text:
        record("FAIL", f"domu/{plat}/boot",
               f"no result in {secs:.0f} s; last line: {text.strip().splitlines()[-1:]}")
    else:
        check_log(text, plat, args.steps)
    passed = sum(s == "PASS" for s, _ in results)
    failed = sum(s == "FAIL" for s, _ in results)
    skipped = sum(s == "SKIP" for s, _ in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def demo(text, plat, steps):
    """What a person at dom0's shell would see, then the checks' verdict."""
    lines = linux.log_lines(text)

    def show(check, cmd):
        out = []
        for l in lines:
            if l.startswith(f"DOMU-CHECK {check} "):
                break
            if l.startswith("    | "):
                out.append(l[6:])
            elif l.startswith("DOMU-CHECK"):
                out = []
        print(f"# {cmd}")
        print("\n".join(out))

    print("\n== Xen's toolstack in a PV dom0 (Debian 12's xen-utils-4.17), a PVH domU "
          "on shadow paging ==")
    show("xl-list", "xl list")
    tgt = next((l for l in lines if l.startswith("DOMU-TARGET ")), "")
    print(f"\n== the domU's program says: {tgt[len('DOMU-TARGET TARGET '):]} ==")
    cr3 = next((l.split()[1] for l in lines if l.startswith("DOMU-CR3 ")
                and len(l.split()) > 1), "?")
    print("\n== dom0 finds its address space and watches its page by virtual address ==")
    show("vcpus", "rshadowctl vcpus target")
    va = re.search(r"va=(\S+)", tgt)
    va = va.group(1) if va else "?"
    show("translate", f"rshadowctl translate target --va {va} --cr3 {cr3}")
    show("watch-va", f"rshadowctl watch target w --va {va} --cr3 {cr3} --steps {steps}")
    print(f"\n# rshadowctl trace target --once --cr3 {cr3}   (its first window)")
    txt = linux.between(lines, "DOMU-TEXT-BEGIN", "DOMU-TEXT-END")
    first = next((i for i, l in enumerate(txt) if not l.startswith(" ")), None)
    if first is not None:
        print("\n".join(txt[first:first + 2 + steps]))
    print("\n== a kernel variable by name, its symbols slid 16 MiB as KASLR would ==")
    show("ksym-kaslr", "rshadowctl translate target --ksym jiffies --symbols kallsyms.slid")
    jv = next((l.split()[1] for l in lines if l.startswith("DOMU-JIFFIES ")), None)
    krecs = linux.json_between(lines, "DOMU-KJSON-BEGIN", "DOMU-KJSON-END")
    for i, r in enumerate(krecs):
        if jv and r.get("kind") in ("write", "rmw") and int(r["linear"], 16) == int(jv, 16):
            print(f"# rshadowctl trace target --json --count 400 --symbols kallsyms.slid "
                  f"(a write of jiffies, shortened)")
            for x in krecs[i:i + 5]:
                print(f"    {x['kind']:<5} {x['rip']} <{x.get('symbol')}>  {x.get('insn')}")
            break
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        check_log(text, plat, steps)
    bad = [n for st, n in results if st == "FAIL"]
    print(f"\n== {len(results) - len(bad)} of the toolstack test's {len(results)} checks passed "
          f"on this boot{': failed ' + ', '.join(bad) if bad else ''} ==")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
