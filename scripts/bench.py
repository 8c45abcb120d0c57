#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`make bench`: rust-shadow's costs against stock Xen, in emulated cycles.

Boots the bench kernel (tests/xtf/tests/bench) as dom0 on stock and patched
Xen, built from the same source, on QEMU-SVM (-icount shift=0) and Bochs-VMX
(clock sync=none), where the TSC counts executed instructions, so runs are
repeatable.  Each iteration is timed on its own; a figure is the least
iteration (the path's own cost: timer interrupts only ever add to an
iteration), net of the empty loop's least, as the median of RUNS runs, with
the spread (max - min) across runs.  The mean per iteration, interrupts
included, is shown beside it.

    scripts/bench.py [--runs 5] [--iters 1000] [--platforms qemu-svm,bochs-vmx]
                     [--write BENCHMARKS.md] [--smoke]

--smoke runs once with a few iterations and checks only that every figure
is there (CI); timings are never asserted.
"""

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
BUILD = TOP / "build"
XEN = {f: BUILD / f"pinned/xen-{f}/xen/xen" for f in ("stock", "patched")}

TARGET_STEP = 1.3      # a traced step, in CPUID exits
TARGET_ACCESS = 1.2    # a watched access, in unwatched page-table writes
TARGET_OVERHEAD = 1.0  # unwatched faults, patched over stock, percent

NAMES = ("loop", "cpuid", "ptwrite", "ptwrite-on", "nops", "access",
         "access-vtlb", "step1", "step8", "step64", "access-notify", "step8-notify")

# The control operations at their largest in the bench domain (128 MiB),
# each the worst of a few repetitions (tests/xtf/tests/bench/main.c).
CTL = (("enable", "ENABLE, a 65,536-record ring (4.5 MiB)"),
       ("disable", "DISABLE, freeing it"),
       ("add", "ADD_WATCH, 24,576 frames: RAM checks, shadows dropped"),
       ("remove", "REMOVE_WATCH, 24,576 frames: shadows dropped"),
       ("add-64", "ADD_WATCH, 64 frames: revoked one by one"),
       ("remove-64", "REMOVE_WATCH, 64 frames: revoked one by one"),
       ("reset-1000", "RESET of 1,000 ranges"),
       ("read-trace-8192", "READ_TRACE of 8,192 records, 1,024 per call"))


def run_once(platform, flavour, iters):
    cmd = [str(TOP / "tests/xtf/xtf-runner"), "--xen", str(XEN[flavour]),
           "--flavour", flavour, "--out", str(BUILD / "xtf"), "--bench",
           "--tests", "test-hvm64-bench", "--platforms", platform,
           "--kernel-args", f"iters={iters}", "--icount", "--show-log",
           "--logs", str(BUILD / "bench-logs")]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    per = {}
    pat = r"^bench: (\S+) iters=(\d+) cycles=(\d+) min=(\d+)"
    for m in re.finditer(pat, out, re.M):
        per[m.group(1)] = (int(m.group(4)), int(m.group(3)) / int(m.group(2)))
    for m in re.finditer(r"^bench-ctl: (\S+) reps=\d+ max=(\d+) calls=(\d+)", out, re.M):
        per["ctl " + m.group(1)] = (int(m.group(2)), int(m.group(3)))
    if not re.search(rf"^{platform}\s+test-hvm64-bench\s+SUCCESS", out, re.M):
        sys.exit(f"bench: {platform} {flavour}: the bench kernel did not succeed\n{out[-3000:]}")
    return per


def measure(platform, flavour, runs, iters):
    samples = [run_once(platform, flavour, iters) for _ in range(runs)]
    stats = {}
    for name, _ in CTL:
        # The worst of every run: a control operation's figure is its bound.
        got = [s["ctl " + name] for s in samples if "ctl " + name in s]
        if got:
            stats["ctl " + name] = (max(c for c, _ in got), max(n for _, n in got))
    for name in NAMES:
        mins = [s[name][0] for s in samples if name in s]
        means = [s[name][1] for s in samples if name in s]
        if mins:
            stats[name] = (statistics.median(mins), max(mins) - min(mins),
                           statistics.median(means))
    return stats


def derive(stock, patched):
    """The figures of the table, each (cycles, spread, mean), net of the loop."""
    def net(st, n):
        return (st[n][0] - st["loop"][0], st[n][1], st[n][2] - st["loop"][2])

    def over_nops(st, n):
        return (st[n][0] - st["nops"][0], st[n][1], st[n][2] - st["nops"][2])

    f = {
        "cpuid": net(patched, "cpuid"),
        "ptwrite stock": net(stock, "ptwrite"),
        "ptwrite patched": net(patched, "ptwrite"),
        "ptwrite patched, watching": net(patched, "ptwrite-on"),
        # What watching adds to the write and nops run natively.
        "access": over_nops(patched, "access"),
        "access-vtlb": over_nops(patched, "access-vtlb"),
    }
    # A step's cost: what N steps add to the access and its 64 nops, over N.
    base, _, base_mean = patched["access"]
    for n in (1, 8, 64):
        t, s, m = patched[f"step{n}"]
        f[f"step (N={n})"] = ((t - base) / n, s / n, (m - base_mean) / n)
    # Least-squares slope of T(N) over N = 0, 1, 8, 64.
    xs = [0, 1, 8, 64]
    ys = [base] + [patched[f"step{n}"][0] for n in (1, 8, 64)]
    mx, my = sum(xs) / 4, sum(ys) / 4
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    f["step (slope)"] = (slope, 0.0, None)
    # With a reader's NOTIFY channel open (patched kernels that have it).
    if "access-notify" in patched:
        f["access, signalled"] = over_nops(patched, "access-notify")
        t, s, m = patched["step8-notify"]
        na, _, nm = patched["access-notify"]
        f["step, signalled"] = ((t - na) / 8, s / 8, (m - nm) / 8)
    return f


def verdict(value, target, text):
    """`text` shows value, then the target in its unit, and whether it is met."""
    return f"{text.format(value)} (target <= {text.format(target).split(' ')[0]}): " \
           f"{'met' if value <= target else 'MISSED'}"


def table(platform, f):
    cpuid = f["cpuid"][0]
    pt = f["ptwrite stock"][0]

    def over(key):
        return (f[key][0] - pt) / pt * 100

    rows = [
        ("CPUID exit", f["cpuid"], ""),
        ("unwatched page-table write, stock Xen", f["ptwrite stock"], ""),
        ("unwatched page-table write, patched, rust-shadow off", f["ptwrite patched"],
         verdict(over("ptwrite patched"), TARGET_OVERHEAD, "{:+.2f}% vs stock")),
        ("unwatched page-table write, patched, watching elsewhere",
         f["ptwrite patched, watching"],
         verdict(over("ptwrite patched, watching"), TARGET_OVERHEAD, "{:+.2f}% vs stock")),
        ("watched access, no steps", f["access"],
         verdict(f["access"][0] / pt, TARGET_ACCESS, "{:.2f}x a page-table write")),
        ("watched access, data and code in one vTLB slot", f["access-vtlb"],
         f"{f['access-vtlb'][0] / pt:.2f}x a page-table write (Xen's vTLB conflict)"),
    ]
    for key in ("step (N=1)", "step (N=8)", "step (N=64)", "step (slope)"):
        rows.append((f"traced step, {key[6:-1]}", f[key],
                     verdict(f[key][0] / cpuid, TARGET_STEP, "{:.2f}x a CPUID exit")))
    if "access, signalled" in f:
        rows.append(("watched access, a reader signalled (NOTIFY)", f["access, signalled"],
                     f"{f['access, signalled'][0] - f['access'][0]:+,.0f} cycles on "
                     f"the access without"))
        rows.append(("traced step, N=8, a reader signalled (NOTIFY)", f["step, signalled"],
                     f"{f['step, signalled'][0] - f['step (N=8)'][0]:+,.0f} cycles on "
                     f"the step without"))
    lines = [f"### {platform}", "",
             "| cost per event | cycles | spread | mean | against its target |",
             "|---|---:|---:|---:|---|"]
    for name, (cyc, spread, mean), note in rows:
        m = "" if mean is None else f"{mean:,.0f}"
        lines.append(f"| {name} | {cyc:,.0f} | {spread:,.0f} | {m} | {note} |")
    return "\n".join(lines) + "\n"


def ctl_table(patched):
    cpuid = patched["cpuid"][0] - patched["loop"][0]
    lines = ["", "Control operations, each the worst of every repetition and run "
             "(3 per run), in the bench domain (128 MiB, 1 vCPU):", "",
             "| operation | cycles | hypercalls | per hypercall | in CPUID exits, per hypercall |",
             "|---|---:|---:|---:|---:|"]
    for name, text in CTL:
        cyc, calls = patched["ctl " + name]
        per = cyc / calls
        lines.append(f"| {text} | {cyc:,} | {calls} | {per:,.0f} | {per / cpuid:,.0f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--platforms", default="qemu-svm,bochs-vmx")
    ap.add_argument("--write", help="also write the tables to this file")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.runs, args.iters = 1, 10

    start = time.monotonic()
    out = []
    for platform in args.platforms.split(","):
        stock = measure(platform, "stock", args.runs, args.iters)
        patched = measure(platform, "patched", args.runs, args.iters)
        missing = [n for n in NAMES if n not in patched] + \
                  [n for n in NAMES[:3] if n not in stock] + \
                  ["ctl " + n for n, _ in CTL if "ctl " + n not in patched]
        if missing:
            sys.exit(f"bench: {platform}: missing figures {missing}")
        out.append(table(platform, derive(stock, patched)) + ctl_table(patched))
    text = "\n".join(out)
    print(text)
    print(f"bench: {args.runs} runs of {args.iters} iterations per figure, "
          f"{time.monotonic() - start:.0f}s")
    if args.write:
        # Only the part between the markers is generated; the rest (the
        # analysis) is kept.
        path = Path(args.write)
        stamp = (f"Measured by `make bench` ({args.runs} runs of {args.iters} "
                 f"iterations per figure) on {time.strftime('%Y-%m-%d')}.\n\n")
        body = "<!-- bench:begin -->\n" + stamp + text + "<!-- bench:end -->"
        old = path.read_text() if path.exists() else "<!-- bench:begin -->\n<!-- bench:end -->\n"
        new = re.sub(r"<!-- bench:begin -->.*<!-- bench:end -->", lambda _: body, old,
                     flags=re.S)
        path.write_text(new)


if __name__ == "__main__":
    main()
