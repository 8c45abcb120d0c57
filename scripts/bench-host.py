#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Host micro-benchmarks of the module's hot paths: instructions per call
under callgrind, and time per call with criterion.

    scripts/bench-host.py [--iters 100000] [--no-criterion] [--smoke]
                          [--write BENCHMARKS.md]

The cases (rust-shadow/benches/cases): the watch lookup, hit and miss, with
1, 64 and 4096 watched ranges over a 4 GiB guest; the MTF step handler,
which records the step; the append of a trace record.  Instruction counts
are per call, less the measuring loop's; they are the figures that hold
on any machine.  Nanoseconds are this machine's.  --smoke runs each case a
few times and checks only that every figure is there (CI).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
CRATE = TOP / "rust-shadow"
CRITERION = TOP / "target/criterion"

TARGET_MISS = 50  # instructions for a lookup miss with 4096 ranges

CASES = [f"lookup/{k}/{n}" for n in (1, 64, 4096) for k in ("hit", "miss", "miss-worst")]
CASES += ["step/mtf-exit", "record/append"]
LABELS = {
    "hit": "watch lookup, hit",
    "miss": "watch lookup, miss (scattered frames)",
    "miss-worst": "watch lookup, miss (next to a watched frame)",
    "step/mtf-exit": "MTF step handler (step recorded)",
    "record/append": "trace record append",
}


def bench_binary(name):
    """Builds the benchmarks; the path of bench target `name`."""
    out = subprocess.run(["cargo", "bench", "--no-run", "--message-format=json",
                          "--bench", name], cwd=CRATE, capture_output=True,
                         text=True)
    if out.returncode:
        sys.exit(f"bench-host: cargo bench --no-run failed\n{out.stderr[-3000:]}")
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == name \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit(f"bench-host: no executable for bench {name}")


def instructions(iters):
    """Instructions per call of each case, from callgrind's dumps."""
    exe = bench_binary("instructions")
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(["valgrind", "--tool=callgrind",
                              f"--callgrind-out-file={tmp}/cg.%p", exe, str(iters)],
                             capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"bench-host: valgrind failed\n{run.stderr[-3000:]}")
        totals = {}
        for dump in Path(tmp).glob("cg.*.*"):
            text = dump.read_text()
            m = re.search(r"^desc: Trigger: Client Request: (\S+) (\d+)$", text, re.M)
            t = re.search(r"^totals: (\d+)", text, re.M)
            if m and t:
                totals[m.group(1)] = int(t.group(1)) / int(m.group(2))
    if "loop" not in totals:
        sys.exit("bench-host: no counts from callgrind (client requests not seen)")
    return {k: v - totals["loop"] for k, v in totals.items() if k != "loop"}


def nanoseconds(smoke):
    """Time per call of each case, from criterion's estimates."""
    args = ["--warm-up-time", "0.5", "--measurement-time", "2"]
    if smoke:
        args = ["--test"]
    run = subprocess.run(["cargo", "bench", "-q", "--bench", "hot_paths", "--"] + args,
                         cwd=CRATE, capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"bench-host: criterion failed\n{run.stderr[-3000:]}")
    if smoke:
        return {}
    ns = {}
    for case in CASES:
        # A benchmark outside a group is filed under its name, "/" made "_".
        est = CRITERION / (case if case.startswith("lookup/") else case.replace("/", "_")) \
            / "new/estimates.json"
        if est.exists():
            ns[case] = json.loads(est.read_text())["mean"]["point_estimate"]
    return ns


def table(counts, ns):
    lines = ["| hot path | ranges | instructions | ns (this host) | against its target |",
             "|---|---:|---:|---:|---|"]
    for case in CASES:
        parts = case.split("/")
        label = LABELS.get(parts[1] if parts[0] == "lookup" else case)
        ranges = parts[2] if parts[0] == "lookup" else ""
        note = ""
        if case in ("lookup/miss/4096", "lookup/miss-worst/4096"):
            v = counts[case]
            note = f"target <= {TARGET_MISS}: {'met' if v <= TARGET_MISS else 'MISSED'}"
        t = f"{ns[case]:.1f}" if case in ns else ""
        lines.append(f"| {label} | {ranges} | {counts[case]:.0f} | {t} | {note} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=100_000)
    ap.add_argument("--no-criterion", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--write", help="also write the table to this file")
    args = ap.parse_args()
    if args.smoke:
        args.iters = 100
        # A smoke run asserts no figure: skip the release profile's fat LTO,
        # most of the build's time.
        os.environ["CARGO_PROFILE_BENCH_LTO"] = "false"
        os.environ["CARGO_PROFILE_BENCH_CODEGEN_UNITS"] = "16"

    start = time.monotonic()
    counts = instructions(args.iters)
    missing = [c for c in CASES if c not in counts]
    if missing:
        sys.exit(f"bench-host: no count for {missing}")
    ns = {} if args.no_criterion else nanoseconds(args.smoke)
    text = table(counts, ns)
    print(text)
    print(f"bench-host: {args.iters} calls per case under callgrind, "
          f"{time.monotonic() - start:.0f}s")
    if args.write:
        path = Path(args.write)
        stamp = (f"Measured by `make bench-host` ({args.iters} calls per case under "
                 f"callgrind; criterion for the times) on {time.strftime('%Y-%m-%d')}.\n\n")
        body = "<!-- host:begin -->\n" + stamp + text + "<!-- host:end -->"
        old = path.read_text() if path.exists() else "<!-- host:begin -->\n<!-- host:end -->\n"
        path.write_text(re.sub(r"<!-- host:begin -->.*<!-- host:end -->",
                               lambda _: body, old, flags=re.S))


if __name__ == "__main__":
    main()
