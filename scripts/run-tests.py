#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make test`: build everything and run every test, one line per test.

Suites, in order (each can be chosen with RSHADOW_SUITES=a,b,...):

  build      the audited module, the patched Xen, the test kernels
  unit       host unit and C-ABI tests of the module (cargo test)
  lint       rustfmt, clippy (host and hypervisor target)
  audit      the object audit against deliberately bad objects
  fuzz       the control-interface and trace-ring fuzz targets (libFuzzer),
             FUZZ_SECONDS each (default 10)
  inputs     bad setup inputs fail clearly and change nothing; a second
             make rebuilds nothing
  series     the patch series as Xen takes it: a plain defconfig build of
             the patched tree (CONFIG_RSHADOW off) builds without the
             module; only the glue gets the module's include path; a
             missing module or one of another ABI version fails the build
             with a message; every prefix builds and boots: the outcome
             of `make check-series` (which CI runs first) if it is for this
             series and module, else skipped (RSHADOW_CHECK_SERIES=1 runs
             it here)
  runner     the runner itself: a deliberately failing test is FAILURE, a
             deliberately hung one is CRASH within its timeout
  xtf        every test kernel as dom0 on QEMU-SVM and Bochs-VMX; those
             that need a debug build's hooks on the series built with
             CONFIG_DEBUG (make xen-debug)
  linux      rshadowctl end to end on Debian's Linux 6.1 as PVH dom0
             (QEMU-SVM), one line per check
  domu       Xen's own toolstack: a PV dom0 whose root filesystem is
             Debian 12's packages (xen-utils-4.17 at the pinned version)
             creates a PVH domU with xl; rshadowctl watches the domU's
             process by name, virtual address and CR3 (QEMU-SVM)
  deb        the Debian packages of the hypervisor and rshadowctl build,
             install into a scratch root, and the installed rshadowctl runs
  stock      the baseline tests on unpatched Xen built from the same
             source, and one rust-shadow test skipping there
             (RSHADOW_STOCK=0 skips the suite)
  bench      the benchmarks, built and run a few iterations each: the host
             micro-benchmarks, and the bench kernel on stock and patched
             Xen on both platforms; every figure must come out, no timing
             is asserted (make bench measures)

Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("BUILD", TOP / "build"))
PINNED = BUILD / "pinned"
results = []


def record(status, name, detail="", seconds=None):
    results.append((status, name))
    t = f" ({seconds:.1f}s)" if seconds is not None else ""
    d = f"  {detail}" if detail else ""
    print(f"{status} {name}{t}{d}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), text=True,
                          capture_output=True, cwd=kw.pop("cwd", TOP), **kw)


def step(name, cmd, env=None):
    """Runs a command as one test; prints its output tail on failure."""
    start = time.monotonic()
    p = sh(cmd, env={**os.environ, **(env or {})})
    ok = p.returncode == 0
    record("PASS" if ok else "FAIL", name, seconds=time.monotonic() - start)
    if not ok:
        print("\n".join(("    " + l) for l in (p.stdout + p.stderr).splitlines()[-40:]))
    return ok


def suite_build():
    ok = step("build/module", ["make", "module"])
    ok = step("build/xen-patched", ["make", "xen"]) and ok
    step("build/xtf", ["make", "xtf-build"])
    return ok


def suite_unit():
    start = time.monotonic()
    # Each test prints "test path::name ... ok|FAILED|ignored": one result
    # line per test.
    p = sh(["cargo", "test", "--workspace", "--", "--test-threads=2"])
    out = p.stdout + p.stderr
    n = 0
    for m in re.finditer(r"^test (\S+) \.\.\. (ok|FAILED|ignored)$", out, re.M):
        n += 1
        status = {"ok": "PASS", "FAILED": "FAIL", "ignored": "SKIP"}[m.group(2)]
        record(status, f"unit/{m.group(1)}")
    if p.returncode != 0 and not any(s == "FAIL" and n.startswith("unit/")
                                     for s, n in results):
        record("FAIL", "unit/cargo-test", seconds=time.monotonic() - start)
        print("\n".join(("    " + l) for l in out.splitlines()[-40:]))
    elif n == 0:
        record("FAIL", "unit/cargo-test", "no tests ran")


def suite_lint():
    step("lint/rustfmt", ["cargo", "fmt", "--all", "--", "--check"])
    step("lint/clippy-host", ["cargo", "clippy", "--workspace", "--all-targets", "--",
                              "-D", "warnings"])
    # The hypervisor build of the crate, against the prebuilt core.
    step("lint/clippy-xen-target", ["cargo", "clippy", "-p", "rust-shadow", "--lib",
                                    "--target", "x86_64-unknown-none", "--", "-D", "warnings"])


def suite_audit():
    p = sh([str(TOP / "tests/audit/run.sh")])
    for line in p.stdout.splitlines():
        m = re.match(r"^(PASS|FAIL) (\S+)(.*)$", line)
        if m:
            record(m.group(1), m.group(2), m.group(3).strip())
        elif line.startswith("    "):
            print(line)
    lib = BUILD / "module/librshadow.a"
    cfg = PINNED / "xen-patched/xen/.config"
    step("audit/module", [str(TOP / "scripts/audit-module.py"), "--xen-config", str(cfg), str(lib)])
    step("audit/xen-link", [str(TOP / "scripts/audit-module.py"), "--linked",
                            str(PINNED / "xen-patched/xen/xen-syms")])


def expect_fail(name, cmd, pattern, env=None, unchanged=()):
    """A bad input must fail, say `pattern`, and leave `unchanged` paths as
    they were (compared by a listing of names and mtimes)."""
    def snapshot(paths):
        snap = []
        for p in paths:
            p = Path(p)
            if p.is_dir():
                # patches.list is make's bookkeeping, not a tree.
                snap += [(str(q), q.stat().st_mtime) for q in sorted(p.rglob("*"))
                         if q.is_file() and ".git" not in q.parts
                         and q.name != "patches.list"]
            elif p.exists():
                snap.append((str(p), p.stat().st_mtime))
            elif p.suffix:  # a missing file counts; a missing directory is empty
                snap.append((str(p), None))
        return snap
    before = snapshot(unchanged)
    start = time.monotonic()
    p = sh(cmd, env={**os.environ, **(env or {})})
    out = p.stdout + p.stderr
    problems = []
    if p.returncode == 0:
        problems.append("succeeded")
    if not re.search(pattern, out):
        problems.append(f"message does not match /{pattern}/")
    if snapshot(unchanged) != before:
        problems.append("changed files")
    record("FAIL" if problems else "PASS", name, "; ".join(problems),
           seconds=time.monotonic() - start)
    if problems:
        print("\n".join(("    " + l) for l in out.splitlines()[-20:]))


def suite_fuzz():
    start = time.monotonic()
    p = sh([str(TOP / "scripts/fuzz.sh")])
    lines = re.findall(r"^(fuzz/\S+) (PASS|FAIL) \((.*)\)$", p.stdout, re.M)
    for name, status, detail in lines:
        record(status, name, detail)
    if p.returncode != 0:
        if not any(s == "FAIL" for _, s, _ in lines):
            record("FAIL", "fuzz/script", seconds=time.monotonic() - start)
        print("\n".join("    " + l for l in (p.stdout + p.stderr).splitlines()[-40:]))


def suite_inputs():
    tarball = next((BUILD / "dl").glob("xen_*.orig.tar.xz"), None)
    with tempfile.TemporaryDirectory(prefix="rshadow-inputs-") as tmp:
        tmp = Path(tmp)
        env = {"BUILD": str(tmp / "build")}
        expect_fail("inputs/xen-src-missing", ["make", "xen", "XEN_SRC=/nonexistent/xen"],
                    r"XEN_SRC=/nonexistent/xen: no such directory", env,
                    unchanged=[tmp / "build", TOP / "xen-patches"])
        (tmp / "notxen").mkdir()
        expect_fail("inputs/xen-src-not-a-tree", ["make", "xen", f"XEN_SRC={tmp}/notxen"],
                    r"not a Xen source tree", env, unchanged=[tmp / "build"])
        old = tmp / "xen-4.16/xen"
        old.mkdir(parents=True)
        (old / "Makefile").write_text("export XEN_VERSION       = 4\n"
                                      "export XEN_SUBVERSION    = 16\n")
        expect_fail("inputs/xen-src-wrong-version", ["make", "xen", f"XEN_SRC={tmp}/xen-4.16"],
                    r"Xen 4\.16 found, rust-shadow's patches need Xen 4\.17", env,
                    unchanged=[tmp / "build"])
        if tarball:
            bad = tmp / "build/dl" / tarball.name
            bad.parent.mkdir(parents=True)
            shutil.copy(tarball, bad)
            with open(bad, "ab") as f:
                f.write(b"tampered")
            expect_fail("inputs/checksum-mismatch", ["make", "xen"],
                        r"sha256 [0-9a-f]{64} does not match the pinned", env,
                        unchanged=[bad, tmp / "build/pinned"])
            bad.unlink()
            # A patch that does not apply: the series plus one broken patch.
            patches = tmp / "patches"
            shutil.copytree(TOP / "xen-patches", patches)
            (patches / "9999-broken.patch").write_text(
                "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
                "From: Test <test@invalid>\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n"
                "Subject: [PATCH] test: does not apply\n\n---\n"
                "diff --git a/xen/Makefile b/xen/Makefile\n--- a/xen/Makefile\n+++ b/xen/Makefile\n"
                "@@ -1,3 +1,3 @@\n-this line is not in Xen\n+nor is this one\n context\n")
            shutil.copy(tarball, bad)
            expect_fail("inputs/patch-does-not-apply",
                        [str(TOP / "scripts/xen-source.sh"), "tree",
                         str(tmp / "build/pinned/xen-patched"), "patched"],
                        r"patch 9999-broken\.patch does not apply", {**env, "PATCHES": str(patches)},
                        unchanged=[tmp / "build/pinned"])
            # The series applies to a user's own tree given as XEN_SRC.
            src = tmp / "user-xen"
            src.mkdir()
            sh(["tar", "-C", str(src), "--strip-components=1", "-xJf", str(tarball)])
            step("inputs/xen-src-user-tree",
                 [str(TOP / "scripts/xen-source.sh"), "tree", str(tmp / "t"), "patched"],
                 env={**env, "XEN_SRC": str(src)})
        else:
            record("SKIP", "inputs/checksum-mismatch", "no downloaded tarball")

    # A second make with nothing changed rebuilds neither Xen nor the module.
    watched = [BUILD / "module/librshadow.a", PINNED / "xen-patched/xen/xen-syms",
               BUILD / "module/.built", PINNED / "xen-patched.built-stamp"]
    if all(p.exists() for p in watched):
        before = [p.stat().st_mtime for p in watched]
        start = time.monotonic()
        p = sh(["make", "all"])
        after = [p2.stat().st_mtime for p2 in watched]
        noisy = [l for l in p.stdout.splitlines() if l.startswith(("  RUST", "  XEN"))]
        ok = p.returncode == 0 and before == after and not noisy
        record("PASS" if ok else "FAIL", "inputs/second-make-rebuilds-nothing",
               "" if ok else f"rebuilt: {noisy or 'mtimes changed'}",
               seconds=time.monotonic() - start)


def suite_series():
    patched = PINNED / "xen-patched"
    default = PINNED / "xen-default"
    # Xen's make reads these from the environment too: the tests name them.
    for var in ("RSHADOW_LIB", "RSHADOW_INCLUDE"):
        os.environ.pop(var, None)

    # A plain `make defconfig && make` of the patched tree builds Xen
    # without rust-shadow: the option is off and nothing asks for the module.
    if step("series/default-build", ["make", "xen-default"]):
        config = (default / "xen/.config").read_text()
        syms = sh(["nm", str(default / "xen/xen-syms")]).stdout
        problems = []
        if "# CONFIG_RSHADOW is not set" not in config.splitlines():
            problems.append("CONFIG_RSHADOW is not off in the default .config")
        if re.search(r"\brshadow", syms):
            problems.append("rust-shadow symbols in the default build")
        record("FAIL" if problems else "PASS", "series/default-build-has-no-module",
               "; ".join(problems))

    # The module's include path reaches only the glue's directories.
    inc = str(TOP / "rust-shadow/include")
    users = sorted(str(c.parent.relative_to(patched / "xen") / c.name[1:-len(".cmd")])
                   for c in (patched / "xen").rglob(".*.o.cmd")
                   if inc in c.read_text(errors="replace"))
    glue = ("arch/x86/rshadow/", "arch/x86/mm/shadow/")
    stray = [u for u in users if not u.startswith(glue)]
    ok = users and not stray and any(u.startswith(glue[0]) for u in users)
    record("PASS" if ok else "FAIL", "series/include-path-only-for-the-glue",
           f"also given to {stray}" if stray else "" if users else "given to no object")

    # Without the module, CONFIG_RSHADOW=y stops at once, naming both inputs.
    syms = patched / "xen/xen-syms"
    for name, args in (("no-module-given", []),
                       ("only-the-library-given", [f"RSHADOW_LIB={BUILD}/module/librshadow.a"])):
        expect_fail(f"series/{name}", ["make", "-C", str(patched / "xen"), *args],
                    r"CONFIG_RSHADOW=y needs RSHADOW_LIB=.* and RSHADOW_INCLUDE=",
                    unchanged=[syms])

    # A module of another ABI version: its header fails the compile, its
    # library the link.  In a copy of the built tree, so only that rebuilds.
    with tempfile.TemporaryDirectory(prefix="rshadow-series-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(patched, tmp / "xen-patched", symlinks=True)
        other = tmp / "include"
        other.mkdir()
        hdr = (TOP / "rust-shadow/include/rshadow_abi.h").read_text()
        m = re.search(r"^#define RSHADOW_ABI_VERSION (\d+)$", hdr, re.M)
        version = int(m.group(1))
        (other / "rshadow_abi.h").write_text(hdr.replace(
            m.group(0), f"#define RSHADOW_ABI_VERSION {version - 1}"))
        lib = BUILD / "module/librshadow.a"
        tree = tmp / "xen-patched/xen"
        expect_fail("series/header-of-another-abi",
                    ["make", "-C", str(tree), f"RSHADOW_LIB={lib}", f"RSHADOW_INCLUDE={other}"],
                    rf"is not module ABI {version}: build the module from the same")
        old_lib = tmp / "librshadow-other.a"
        sh(["objcopy", f"--redefine-sym=rshadow_abi_v{version}=rshadow_abi_v{version - 1}",
            str(lib), str(old_lib)])
        expect_fail("series/library-of-another-abi",
                    ["make", "-C", str(tree), f"RSHADOW_LIB={old_lib}", f"RSHADOW_INCLUDE={inc}"],
                    rf"undefined reference to .rshadow_abi_v{version}'")

    check_series_result()


def series_outcome(lines, ident):
    """The tests a check-series result file (its lines) stands for, as
    (status, name, detail), if it is for the series and module `ident`;
    None if it is not."""
    if not lines or lines[0] != f"series {ident}":
        return None
    out = []
    for line in lines[1:]:
        m = re.match(r"^ok\s+(\d+) (\S+): (.*)$", line)
        if m:
            out.append(("PASS", f"series/prefix-{m.group(2)[:4]}", m.group(3)))
        elif line.startswith("FAIL"):
            out.append(("FAIL", "series/check-series", line))
    if not any(l.startswith(("all ", "FAIL")) for l in lines[1:]):
        out.append(("FAIL", "series/check-series", "make check-series did not finish"))
    return out


def check_series_result():
    """Every prefix of the series builds and boots: `make check-series`
    checks that (CI runs it before `make test`); its outcome is reported
    here if it is for this series and module.  RSHADOW_CHECK_SERIES=1 runs
    it here first."""
    # The reader itself, on made-up results: another series' is not ours;
    # a failed prefix and an unfinished run are failures.
    cases = [(["series b", "ok   1 0001-x.patch: built", "all 1 patches"], None),
             (["series a", "ok   1 0001-x.patch: built", "all 1 patches"],
              [("PASS", "series/prefix-0001", "built")]),
             (["series a", "FAIL: patch 1, 0001-x.patch, does not build"],
              [("FAIL", "series/check-series", "FAIL: patch 1, 0001-x.patch, does not build")]),
             (["series a", "ok   1 0001-x.patch: built"],
              [("PASS", "series/prefix-0001", "built"),
               ("FAIL", "series/check-series", "make check-series did not finish")])]
    wrong = [c for c, want in cases if series_outcome(c, "a") != want]
    record("FAIL" if wrong else "PASS", "series/outcome-reader",
           f"misread {wrong}" if wrong else "")

    if os.environ.get("RSHADOW_CHECK_SERIES") == "1":
        sh(["make", "check-series"])
    ident = sh([str(TOP / "scripts/series-id.sh"), str(TOP / "xen-patches"),
                str(BUILD / "module/librshadow.a"), str(TOP / "rust-shadow/include")])
    result = PINNED / "check-series.result"
    lines = result.read_text().splitlines() if result.exists() else []
    outcome = series_outcome(lines, ident.stdout.strip()) if ident.returncode == 0 else None
    if outcome is None:
        record("SKIP", "series/check-series",
               "no `make check-series` outcome for this series and module "
               "(CI runs it before make test; RSHADOW_CHECK_SERIES=1 runs it here)")
        return
    for status, name, detail in outcome:
        record(status, name, detail)


def run_xtf(name, xen_flavour, extra=()):
    xen = PINNED / f"xen-{xen_flavour}/xen/xen"
    cmd = [str(TOP / "tests/xtf/xtf-runner"), "--xen", str(xen), "--flavour", xen_flavour,
           "--out", str(BUILD / "xtf"), "--logs", str(BUILD / "xtf-logs" / xen_flavour),
           "--junit", str(BUILD / f"xtf-junit-{xen_flavour}.xml"), *extra]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=TOP)
    for line in p.stdout:
        m = re.match(r"^(\S+)\s+(test-\S+)\s+(SUCCESS|SKIP|ERROR|FAILURE|CRASH)\s+(\S+)\s*(.*)$", line)
        if m:
            status = {"SUCCESS": "PASS", "SKIP": "SKIP"}.get(m.group(3), "FAIL")
            detail = m.group(3) if status == "FAIL" else ""
            record(status, f"{name}/{m.group(1)}/{m.group(2)}",
                   " ".join(filter(None, [detail, m.group(5)])))
        elif line.startswith("xtf:"):
            print(line.rstrip())
    p.wait()


def suite_runner():
    xen = PINNED / "xen-patched/xen/xen"
    cmd = [str(TOP / "tests/xtf/xtf-runner"), "--xen", str(xen), "--out", str(BUILD / "xtf"),
           "--logs", str(BUILD / "xtf-logs/selfcheck"), "--selfcheck", "--platforms", "qemu-svm"]
    p = sh(cmd)
    verdicts = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^qemu-svm\s+test-hvm64-(selfcheck-\w+)\s+(\S+)\s+([\d.]+)s", line)
        if m:
            verdicts[m.group(1)] = (m.group(2), float(m.group(3)))
    result, secs = verdicts.get("selfcheck-fail", ("missing", 0))
    record("PASS" if result == "FAILURE" else "FAIL", "runner/deliberate-failure-is-FAILURE",
           f"got {result}" if result != "FAILURE" else "")
    result, secs = verdicts.get("selfcheck-hang", ("missing", 0))
    # Its timeout is 20s: CRASH, and not long after.
    ok = result == "CRASH" and secs < 35
    record("PASS" if ok else "FAIL", "runner/deliberate-hang-is-CRASH",
           f"{result} after {secs:.0f}s")
    # Whether KVM is really usable: the decision on made-up machines, and
    # the probe on this one (scripts/test_kvm.py).
    p = sh([sys.executable, str(TOP / "scripts/test_kvm.py"), "-v"])
    for m in re.finditer(r"^(test_\w+) \(\S+\) \.\.\. (ok|FAIL|ERROR)$", p.stderr, re.M):
        record("PASS" if m.group(2) == "ok" else "FAIL", f"runner/kvm-{m.group(1)[5:]}")
    if p.returncode != 0:
        record("FAIL", "runner/kvm-tests", "scripts/test_kvm.py failed")
        print("\n".join("    " + l for l in p.stderr.splitlines()[-20:]))


def suite_xtf():
    run_xtf("xtf", "patched")
    # The race tests, on the same series built with CONFIG_DEBUG.
    if step("build/xen-debug", ["make", "xen-debug"]):
        run_xtf("xtf-debug", "debug")


def stock_tests():
    """The baseline tests (those that need no rust-shadow), and one that
    does, to show it skipping: every other rust-shadow test would only boot
    to skip the same way."""
    names = ["watch-ctl"]
    for info in sorted((BUILD / "xtf").glob("*/info.json")):
        meta = json.loads(info.read_text())
        if "rshadow" not in meta["needs"]:
            names.append(meta["name"])
    return " ".join(names)


def linux_script(script, prefix):
    """Runs a real-Linux test script (tests/linux/), recording its
    "PASS|FAIL|SKIP prefix/..." lines; a script that fails without saying
    which check failed is a failure of its own."""
    start = time.monotonic()
    p = sh([str(TOP / "tests/linux" / script)],
           env={**os.environ, "BUILD": str(BUILD),
                "RSHADOW_XEN": str(PINNED / "xen-patched/xen/xen")})
    n = 0
    for line in p.stdout.splitlines():
        m = re.match(rf"^(PASS|FAIL|SKIP) ({prefix}/\S+) ?(.*)$", line)
        if m:
            n += 1
            record(m.group(1), m.group(2), m.group(3).strip())
    if n == 0 or (p.returncode != 0 and not any(
            s == "FAIL" and t.startswith(prefix + "/") for s, t in results)):
        record("FAIL", f"{prefix}/run", f"exit {p.returncode}", seconds=time.monotonic() - start)
        print("\n".join(("    " + l) for l in (p.stdout + p.stderr).splitlines()[-40:]))


def suite_linux():
    """rshadowctl end to end: Debian's Linux as a PVH dom0 on QEMU-SVM
    (tests/linux/run.py), one line per check."""
    linux_script("run.py", "linux")
    record("SKIP", "linux/bochs-vmx", "Debian's Linux 6.1 stalls early as PVH dom0 on "
           "Bochs 3.0 (tests/linux/run.py --platform bochs-vmx shows it)")


def suite_domu():
    """Xen's own toolstack: a PV dom0 on Debian 12's packages creates a PVH
    domU with xl and watches its process by virtual address
    (tests/linux/domu.py), one line per check."""
    linux_script("domu.py", "domu")


def suite_deb():
    """The Debian packages: built, installed into a scratch root, the
    installed rshadowctl run (tests/deb/check.sh)."""
    # busybox-static, for the scratch root's /bin/sh: fetched (once) as the
    # real-Linux tests fetch it.
    step("deb/busybox", f"cd {TOP / 'tests/linux'} && {sys.executable} -c "
         "'import run; run.fetch()' >/dev/null", env={"BUILD": str(BUILD)})
    p = sh([str(TOP / "tests/deb/check.sh"), str(PINNED / "xen-patched"),
            str(BUILD / "linux/busybox/bin/busybox"), str(BUILD / "deb-check")])
    for line in p.stdout.splitlines():
        m = re.match(r"^(PASS|FAIL) (deb/\S+) ?(.*)$", line)
        if m:
            record(m.group(1), m.group(2), m.group(3).strip())
    if not any(t.startswith("deb/") and t != "deb/busybox" for _, t in results):
        record("FAIL", "deb/run", f"exit {p.returncode}: {p.stderr[-300:]}")


def suite_stock():
    if os.environ.get("RSHADOW_STOCK") == "0":
        record("SKIP", "stock", "RSHADOW_STOCK=0")
        return
    if step("build/xen-stock", ["make", "xen-stock"]):
        run_xtf("stock", "stock", ["--tests", stock_tests()])


def suite_bench():
    step("bench/host-smoke", [str(TOP / "scripts/bench-host.py"), "--smoke"])
    if os.environ.get("RSHADOW_STOCK") == "0":
        record("SKIP", "bench/guest-smoke", "needs stock Xen; RSHADOW_STOCK=0")
        return
    if step("build/xen-stock", ["make", "xen-stock"]):
        step("bench/guest-smoke", [str(TOP / "scripts/bench.py"), "--smoke"])


SUITES = {"build": suite_build, "unit": suite_unit, "lint": suite_lint,
          "audit": suite_audit, "fuzz": suite_fuzz, "inputs": suite_inputs,
          "series": suite_series,
          "runner": suite_runner, "xtf": suite_xtf, "linux": suite_linux,
          "domu": suite_domu, "deb": suite_deb,
          "stock": suite_stock, "bench": suite_bench}


def main():
    chosen = os.environ.get("RSHADOW_SUITES", ",".join(SUITES)).split(",")
    start = time.monotonic()
    for name in chosen:
        if name not in SUITES:
            sys.exit(f"run-tests: unknown suite {name} (have: {', '.join(SUITES)})")
        print(f"== {name} ==", flush=True)
        suite_start = time.monotonic()
        if name == "build":
            if not SUITES[name]():
                print("run-tests: the build failed; later suites would only repeat that")
                break
        else:
            SUITES[name]()
        print(f"== {name} took {time.monotonic() - suite_start:.0f}s ==", flush=True)
    passed = sum(s == "PASS" for s, _ in results)
    failed = sum(s == "FAIL" for s, _ in results)
    skipped = sum(s == "SKIP" for s, _ in results)
    print(f"run-tests: total {time.monotonic() - start:.0f}s")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
