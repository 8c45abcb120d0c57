#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Debian packages of the patched hypervisor and of rshadowctl, for a host
# that runs Debian 12's Xen 4.17 toolstack:
#   xen-hypervisor-4.17-rshadow_<ver>_amd64.deb
#       /boot/xen-4.17-rshadow.gz and its .config; GRUB's 20_linux_xen
#       makes a "Xen 4.17-rshadow" entry for it on update-grub
#   rshadowctl_<ver>_amd64.deb
#       /usr/sbin/rshadowctl (static, so it runs in any dom0)
#
# usage: make-deb.sh XEN_TREE OUTDIR
#   XEN_TREE  the built patched tree (build/pinned/xen-patched)
#   OUTDIR    where the .deb files go
set -eu

tree=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$top/rust-shadow/Cargo.toml" | head -1)
xen_version=4.17.5+72-g01140da4e8-1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -f "$tree/xen/xen.gz" ] || { echo "make-deb: $tree/xen/xen.gz not built (make xen)" >&2; exit 1; }
mkdir -p "$out"

# The hypervisor.
h=$work/hypervisor
mkdir -p "$h/DEBIAN" "$h/boot" "$h/usr/share/doc/xen-hypervisor-4.17-rshadow"
cp "$tree/xen/xen.gz" "$h/boot/xen-4.17-rshadow.gz"
cp "$tree/xen/.config" "$h/boot/xen-4.17-rshadow.config"
cp "$top/docs/host.md" "$h/usr/share/doc/xen-hypervisor-4.17-rshadow/README.md"
cat > "$h/DEBIAN/control" <<EOF
Package: xen-hypervisor-4.17-rshadow
Version: $version
Architecture: amd64
Maintainer: rust-shadow <rust-shadow@invalid>
Section: kernel
Priority: optional
Depends: xen-utils-4.17 (= $xen_version)
Description: Xen 4.17 hypervisor with rust-shadow
 Xen $xen_version with the rust-shadow patch series and module: a control
 domain watches pages of an HVM or PVH guest on shadow paging, records every
 access, and single-steps the instructions after it, unseen by the guest.
 Installed next to Debian's own hypervisor as /boot/xen-4.17-rshadow.gz;
 update-grub adds an entry for it.
EOF
cat > "$h/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && command -v update-grub >/dev/null 2>&1 && [ -d /boot/grub ]; then
    update-grub || true
fi
EOF
cp "$h/DEBIAN/postinst" "$h/DEBIAN/postrm"
chmod 755 "$h/DEBIAN/postinst" "$h/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz --build "$h" \
    "$out/xen-hypervisor-4.17-rshadow_${version}_amd64.deb" >/dev/null

# rshadowctl, static (glibc's crt-static; libxenstore is linked statically
# already), built as the real-Linux tests build it, in their target
# directory, so neither builds it twice.
target_dir=${BUILD:-$top/build}/linux/target
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
    cargo build -q --release -p rshadowctl --target x86_64-unknown-linux-gnu \
    --manifest-path "$top/Cargo.toml"
c=$work/rshadowctl
mkdir -p "$c/DEBIAN" "$c/usr/sbin" "$c/usr/share/doc/rshadowctl"
cp "$target_dir/x86_64-unknown-linux-gnu/release/rshadowctl" "$c/usr/sbin/rshadowctl"
strip "$c/usr/sbin/rshadowctl"
cp "$top/docs/rshadowctl.md" "$c/usr/share/doc/rshadowctl/README.md"
cat > "$c/DEBIAN/control" <<EOF
Package: rshadowctl
Version: $version
Architecture: amd64
Maintainer: rust-shadow <rust-shadow@invalid>
Section: admin
Priority: optional
Recommends: xen-hypervisor-4.17-rshadow
Description: rust-shadow's control tool for a Xen dom0
 Enables rust-shadow for a domain, watches its frames, virtual addresses or
 kernel symbols, and prints the trace of every access and the instructions
 stepped after it, disassembled. Needs the rust-shadow hypervisor.
EOF
dpkg-deb --root-owner-group -Zxz --build "$c" "$out/rshadowctl_${version}_amd64.deb" >/dev/null
ls "$out"/*.deb
