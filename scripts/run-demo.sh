#!/bin/sh
# `make run`: boot the patched Xen in QEMU with the demo guest as dom0 and
# show what rust-shadow did: its boot banner, and the guest's own report.
#
#   run-demo.sh XEN_IMAGE XTF_OUT
set -eu
xen=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== Booting $xen in QEMU (AMD SVM, shadow paging) with the demo guest =="
"$top/tests/xtf/xtf-runner" --xen "$xen" --out "$out" --tests "${DEMO:-test-hvm64-example}" \
    --platforms qemu-svm --logs "$top/build/demo-logs" --show-log > "$log" || true

echo
echo "== What rust-shadow printed =="
grep -a '^(XEN) rust-shadow' "$log" || echo "(nothing: the module did not start)"
echo
echo "== What the demo guest printed =="
# The guest's lines: everything not from Xen after Xen hands over to dom0.
sed -n '/(XEN) Freed .* init memory/,$p' "$log" | grep -a -v -E '^(\(XEN\)|qemu-svm|xtf:|[0-9]+ passed)' || true
echo
grep -a -E '^qemu-svm' "$log"
grep -a -q 'SUCCESS' "$log"
