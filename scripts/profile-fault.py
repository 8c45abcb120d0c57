#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Instruction-exact profile of one guest event in Xen, stock against patched.

Boots the bench kernel on QEMU-SVM with its gdb stub, stops at a function of
the kernel (`ptwrite` by default: an unwatched page-table write), and
single-steps it to its return, recording every instruction executed, guest
and Xen.  Xen's instructions between two guest instructions are one event
(one fault); the last one, in steady state, is attributed to Xen's functions
by xen-syms' symbols.  With both flavours it prints the difference per
function, which is where patched Xen's overhead is.

    scripts/profile-fault.py [--function ptwrite] [--flavours stock,patched]
                             [--callees sh_page_fault__guest_4] [--top 40]

--callees F counts each function F calls inclusively (with everything it
calls), which shows the phases of F; --detail F lists F's instructions.

QEMU does not deliver interrupts or run timers while single-stepping, so
the event is exactly the path's own.
"""

import argparse
import bisect
import os
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

TOP = Path(__file__).resolve().parent.parent
BUILD = TOP / "build"
KERNEL = BUILD / "xtf/bench/test-hvm64-bench"
XEN_ARGS = ("console=com1 noreboot dom0=pvh dom0-iommu=none dom0_mem=128M "
            "dom0_max_vcpus=1 bootscrub=false")

# Run inside gdb: step the function to its return, one PC per line.
GDB_SCRIPT = r'''
import gdb
gdb.execute("set pagination off")
gdb.execute("target remote :%(port)d")
gdb.execute("hbreak *%(entry)#x")
for _ in range(%(call)d):
    gdb.execute("continue")
gdb.execute("delete")
rsp = int(gdb.parse_and_eval("$rsp"))
ret = int.from_bytes(gdb.selected_inferior().read_memory(rsp, 8).tobytes(), "little")
out = open("%(out)s", "w")
for _ in range(%(limit)d):
    gdb.execute("stepi", to_string=True)
    pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
    if pc == ret:
        break
    out.write("%%x\n" %% pc)
out.close()
gdb.execute("kill")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def symbol(path, name):
    for line in subprocess.run(["nm", str(path)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    sys.exit(f"profile: no symbol {name} in {path}")


def trace(xen, function, iters, limit, call):
    """Every PC executed in `function` of the bench kernel, booted on `xen`."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        pcs = Path(tmp) / "pcs"
        script = Path(tmp) / "trace.py"
        script.write_text(GDB_SCRIPT % {"port": port, "out": pcs, "limit": limit,
                                        "entry": symbol(KERNEL, function),
                                        "call": call})
        qemu = subprocess.Popen(
            ["qemu-system-x86_64", "-nographic", "-display", "none", "-m", "512",
             "-cpu", "qemu64,+svm", "-kernel", str(xen),
             "-initrd", f"{KERNEL} iters={iters}", "-append", XEN_ARGS,
             "-serial", f"file:{tmp}/serial.log", "-monitor", "none",
             "-no-reboot", "-gdb", f"tcp:127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            subprocess.run(["gdb", "-nx", "-batch", "-x", str(script)],
                           capture_output=True, timeout=1800, check=False)
        finally:
            qemu.kill()
            qemu.wait()
        if not pcs.exists():
            sys.exit(f"profile: no trace from {xen} (is QEMU's gdb stub usable?)")
        return [int(x, 16) for x in pcs.read_text().split()]


class Symbols:
    def __init__(self, elf):
        rows = []
        out = subprocess.run(["nm", "-n", str(elf)], capture_output=True, text=True,
                             check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tTwW":
                rows.append((int(parts[0], 16), parts[2]))
        self.addrs = [a for a, _ in rows]
        self.names = [n for _, n in rows]

    def name(self, pc):
        i = bisect.bisect_right(self.addrs, pc) - 1
        return self.names[i] if i >= 0 else f"{pc:#x}"


def last_event(pcs, syms, through):
    """Xen's instructions for the last exit that ran a function named with
    `through` (the others are the kernel's printk and the like)."""
    events, cur = [], []
    for pc in pcs:
        if pc >= 1 << 47:
            cur.append(pc)
        elif cur:
            events.append(cur)
            cur = []
    events = [e for e in events if any(through in syms.name(pc) for pc in e)]
    if not events:
        sys.exit(f"profile: no exit in Xen ran {through}")
    return events[-1], len(events)


def disassembly(elf):
    """Each instruction of Xen's text, by address."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(elf)],
                         capture_output=True, text=True, check=True).stdout
    text = {}
    for line in out.splitlines():
        addr, _, insn = line.strip().partition(":")
        if insn and all(c in "0123456789abcdef" for c in addr):
            text[int(addr, 16)] = insn.strip()
    return text


def by_callee(event, syms, text, function, depth):
    """Instructions counted inclusively per call path below `function`, down
    to `depth` calls ("(self)" for a function's own), following calls and
    returns."""
    counts = Counter()
    stack = []
    prev = ""
    for pc in event:
        name = syms.name(pc)
        if prev.startswith("call"):
            stack.append(name)
        elif stack and stack[-1].startswith("__x86_indirect_thunk") and \
                not name.startswith("__x86_indirect_thunk"):
            stack[-1] = name    # the thunk jumped to the real callee
        if function not in stack and name == function:
            stack = [function]  # entered without a traced call
        if function in stack:
            below = stack[stack.index(function) + 1:]
            for n in range(min(depth, len(below)) + 1):
                path = tuple(below[:n])
                if n == len(below) or n == depth:
                    counts[path + ("(self)",) if n == len(below) else path] += 1
                else:
                    counts[path] += 1
        prev = text.get(pc, "")
        if prev.startswith("ret") and stack:
            stack.pop()
    return Counter({" > ".join(k) if k else f"{function} (all)": v
                    for k, v in counts.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--function", default="ptwrite")
    ap.add_argument("--flavours", default="stock,patched")
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--call", type=int, default=1,
                    help="trace the function's Nth call")
    ap.add_argument("--limit", type=int, default=400000,
                    help="most instructions to step")
    ap.add_argument("--through", default="sh_page_fault",
                    help="profile the last exit that runs this function")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--callees", metavar="FUNCTION",
                    help="count inclusively, per function FUNCTION calls")
    ap.add_argument("--depth", type=int, default=1,
                    help="how many calls deep --callees goes")
    ap.add_argument("--detail", metavar="FUNCTION",
                    help="also list the instructions run in FUNCTION")
    args = ap.parse_args()

    profiles = {}
    for flavour in args.flavours.split(","):
        tree = BUILD / f"pinned/xen-{flavour}/xen"
        syms = Symbols(tree / "xen-syms")
        event, n = last_event(trace(tree / "xen", args.function, args.iters, args.limit, args.call),
                              syms, args.through)
        text = disassembly(tree / "xen-syms") if args.callees or args.detail else {}
        if args.callees:
            profiles[flavour] = by_callee(event, syms, text, args.callees, args.depth)
        else:
            profiles[flavour] = Counter(syms.name(pc) for pc in event)
        if args.detail:
            for pc in event:
                if syms.name(pc) == args.detail:
                    print(f"  {pc:x}  {text.get(pc, '?')}")
        print(f"{flavour}: {len(event)} instructions in Xen for the last of "
              f"{n} exits through {args.through} in {args.function}()")

    flavours = list(profiles)
    funcs = set().union(*profiles.values())
    if len(flavours) == 2:
        a, b = (profiles[f] for f in flavours)
        rows = sorted(funcs, key=lambda f: (-abs(b[f] - a[f]), f))
        print(f"\n{'function':48} {flavours[0]:>8} {flavours[1]:>8} {'diff':>6}")
        for f in rows[:args.top]:
            if a[f] != b[f]:
                print(f"{f:48} {a[f]:8} {b[f]:8} {b[f] - a[f]:+6}")
    else:
        for f, c in profiles[flavours[0]].most_common(args.top):
            print(f"{f:48} {c:8}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
