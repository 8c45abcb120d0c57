#!/bin/sh
# `make run`: boot the patched Xen in QEMU with the demo guest as dom0 and
# show what rust-shadow did: accesses, then an access and its steps (on QEMU's
# SVM, then on Bochs's VMX).
#
# The demo guest is the boot-watch test kernel.  Xen boots with
# rshadow=ring:64,watch:<a page of the kernel>:rw, so the page is watched
# before dom0 runs, with no toolstack; the guest uses the page, presses
# Xen's 'W' debug key, which prints the watches, the statistics and the
# newest records on Xen's console, then checks the trace itself.  The
# boot-step kernel (watch:<page>:w:4) then shows steps.
#
#   run-demo.sh XEN_IMAGE XTF_OUT
set -eu
xen=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== Booting $xen in QEMU (AMD SVM, shadow paging), dom0 = the demo guest =="
"$top/tests/xtf/xtf-runner" --xen "$xen" --out "$out" \
    --tests "${DEMO:-test-hvm64-boot-watch}" --platforms qemu-svm \
    --logs "$top/build/demo-logs" --show-log > "$log" || true

echo
echo "== Xen's command line =="
grep -a -o 'Command line: .*' "$log" | head -1 || true
echo
echo "== What rust-shadow printed at boot =="
grep -a '^(XEN) rust-shadow:' "$log" || echo "(nothing: the module did not start)"
echo
echo "== The demo guest's own output =="
sed -n '/(XEN) Freed .* init memory/,$p' "$log" |
    grep -a -v -E '^(\(XEN\)|qemu-svm|xtf:|[0-9]+ passed)' || true
echo
echo "== The trace, from Xen's 'W' debug key =="
sed -n "/'W' pressed/,/Test result/p" "$log" | grep -a '^(XEN)' || echo "(no dump)"
echo
grep -a -E '^qemu-svm' "$log"
grep -a -q 'SUCCESS' "$log"

# A write watched with 4 steps: EFLAGS.TF hidden from the guest on QEMU's SVM,
# the Monitor Trap Flag on Bochs's VMX.
step_demo() {
    "$top/tests/xtf/xtf-runner" --xen "$xen" --out "$out" \
        --tests "test-hvm64-boot-step" --platforms "$1" \
        --logs "$top/build/demo-logs" --show-log > "$log" || true
    grep -a -o 'Command line: .*' "$log" | head -1 || true
    grep -a '^(XEN) rust-shadow:' "$log" || true
    sed -n "/'W' pressed/,/Test result/p" "$log" | grep -a '^(XEN)' || echo "(no dump)"
    grep -a -E "^$1" "$log"
    grep -a -q 'SUCCESS' "$log"
}
echo
echo "== Stepping on QEMU (AMD SVM: TF, hidden from the guest), a write watched with 4 steps =="
step_demo qemu-svm
echo
echo "== The same on Bochs (Intel VMX: the Monitor Trap Flag) =="
step_demo bochs-vmx
