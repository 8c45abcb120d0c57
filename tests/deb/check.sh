#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The Debian packages (scripts/make-deb.sh): they build, say what they are,
# install with dpkg into a scratch root (busybox as its /bin/sh, so the
# maintainer scripts run there, not on this host), put the hypervisor where
# GRUB's 20_linux_xen finds it, and the installed rshadowctl runs.
# Prints "PASS|FAIL deb/<check> detail" per check; exits 1 on any failure.
#
# usage: tests/deb/check.sh XEN_TREE BUSYBOX OUTDIR
set -u

tree=$1
busybox=$2
out=$3
top=$(cd "$(dirname "$0")/../.." && pwd)
fail=0
check() {
    name=$1
    shift
    if "$@" >"$out/$name.log" 2>&1; then
        echo "PASS deb/$name"
    else
        echo "FAIL deb/$name $(tail -3 "$out/$name.log" | tr '\n' ' ')"
        fail=1
    fi
}

rm -rf "$out"
mkdir -p "$out"
check build "$top/scripts/make-deb.sh" "$tree" "$out/pkgs"
hv=$(ls "$out"/pkgs/xen-hypervisor-4.17-rshadow_*_amd64.deb 2>/dev/null)
ctl=$(ls "$out"/pkgs/rshadowctl_*_amd64.deb 2>/dev/null)
check fields sh -c "dpkg-deb -f '$hv' Package Depends | grep -qx 'Depends: xen-utils-4.17 (= 4.17.5+72-g01140da4e8-1)' &&
    dpkg-deb -f '$ctl' Package | grep -qx rshadowctl"

root=$out/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/bin"
touch "$root/var/lib/dpkg/status"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# --force-depends: the scratch root has no Xen toolstack.
check install dpkg --root="$root" --force-depends --force-not-root -i "$hv" "$ctl"
check installed sh -c "dpkg --root='$root' -s xen-hypervisor-4.17-rshadow rshadowctl |
    grep -c '^Status: install ok installed' | grep -qx 2"
check hypervisor cmp "$root/boot/xen-4.17-rshadow.gz" "$tree/xen/xen.gz"
check help sh -c "chroot '$root' /usr/sbin/rshadowctl --help | grep -q 'Exit codes:'"
check remove dpkg --root="$root" --force-depends -r rshadowctl xen-hypervisor-4.17-rshadow
check removed test ! -e "$root/usr/sbin/rshadowctl" -a ! -e "$root/boot/xen-4.17-rshadow.gz"
exit $fail
