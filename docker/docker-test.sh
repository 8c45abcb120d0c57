#!/bin/sh
# `make docker-test`: build docker/Dockerfile on a locally built Debian 12
# base image and run the boot smoke (both platforms) inside the container.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
image=${RSHADOW_IMAGE:-rust-shadow}

if ! docker info >/dev/null 2>&1; then
    echo "docker-test: no Docker engine answers ('docker info' failed); nothing to test" >&2
    exit 1
fi
"$top/docker/mkbase.sh"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
# The working tree as git sees it (committed or not), without build output.
(cd "$top" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --) | tar -C "$ctx" -xf -
rustup=$(command -v rustup || echo "$HOME/.cargo/bin/rustup")
[ -x "$rustup" ] || { echo "docker-test: rustup not found on the host" >&2; exit 1; }
cp "$rustup" "$ctx/rustup-init"
# Trust what the host trusts beyond Debian's bundle (a TLS-inspecting proxy's
# CA, for instance), or the toolchain download fails inside the container.
cp /usr/local/share/ca-certificates/*.crt "$ctx/docker/extra-ca/" 2>/dev/null || true

echo "docker-test: building image $image"
docker build -q -t "$image" -f "$ctx/docker/Dockerfile" "$ctx" >/dev/null
echo "docker-test: boot smoke inside the container"
docker run --rm "$image" make smoke
