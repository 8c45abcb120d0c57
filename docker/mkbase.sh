#!/bin/sh
# Builds the Debian 12 base image locally (no image registry is reachable):
# debootstrap a minimal rootfs, then `docker import` it.
#
#   docker/mkbase.sh [IMAGE]      (default rust-shadow/debian12-base)
set -eu
image=${1:-rust-shadow/debian12-base}
if docker image inspect "$image" >/dev/null 2>&1; then
    echo "mkbase: $image exists"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "mkbase: debootstrap missing (run scripts/setup.sh)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "mkbase: debootstrap bookworm (about 1 minute)"
debootstrap --variant=minbase bookworm "$root" >"$root.log" 2>&1 ||
    { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "mkbase: imported $image"
