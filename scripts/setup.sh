#!/bin/sh
# One-time host setup for rust-shadow on Debian 12, run as root.
#
# Idempotent: every step checks before it acts, so `make test` and `make run`
# may call it each time.  Everything the build, the boot tests and the
# emulators need comes from here; CI and docker/Dockerfile run this same file.
set -eu

APT_PACKAGES="
    bc bison build-essential ca-certificates ccache clang cpio curl debootstrap
    dpkg-dev flex gawk git grub-common grub-pc-bin libclang-dev llvm make
    gdb mmdebstrap mtools patch python3 qemu-system-x86 valgrind xorriso xz-utils
"

say() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "setup: must run as root (apt packages, deb-src, the Bochs directory)" >&2
    exit 1
fi

# deb-src twins of the configured Debian entries, so `apt-get source` works.
# The URIs are copied from the existing entries; nothing is hard-coded here.
SRC_LIST=/etc/apt/sources.list.d/debian.sources
ADDED_SRC=
if [ -f "$SRC_LIST" ] && ! grep -q '^Types:.*deb-src' "$SRC_LIST"; then
    say "enabling deb-src in $SRC_LIST"
    sed -i 's/^Types: deb$/Types: deb deb-src/' "$SRC_LIST"
    ADDED_SRC=1
elif [ -f /etc/apt/sources.list ] && ! grep -q '^deb-src' /etc/apt/sources.list \
     && [ ! -f /etc/apt/sources.list.d/rshadow-src.list ] \
     && grep -q '^deb ' /etc/apt/sources.list; then
    say "enabling deb-src in /etc/apt/sources.list"
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/rshadow-src.list
    ADDED_SRC=1
fi

missing=
for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ] || [ -n "$ADDED_SRC" ]; then
    say "installing:${missing:- (none; refreshing indices for deb-src)}"
    apt-get update -qq
    # shellcheck disable=SC2086
    [ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Xen's own stable C libraries, at the pinned source's exact version so the
# toolstack matches the hypervisor: rshadowctl links libxenstore (domain
# names), libxenforeignmemory (another domain's memory) and libxenevtchn
# (Xen's signal), and takes its bindings from libxen-dev's xen/domctl.h.  Debian 12 also serves a newer security upload, so every library
# is named with its version.
XEN_TOOLS_VERSION=4.17.5+72-g01140da4e8-1
XEN_LIBS="libxen-dev libxenmisc4.17 libxencall1 libxendevicemodel1 libxenevtchn1
    libxenforeignmemory1 libxengnttab1 libxenstore4 libxentoolcore1
    libxentoollog1 libxenhypfs1"
if [ "$(dpkg-query -W -f='${Version}' libxen-dev 2>/dev/null)" != "$XEN_TOOLS_VERSION" ]; then
    say "installing Xen's libraries $XEN_TOOLS_VERSION"
    # shellcheck disable=SC2046
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        --allow-downgrades $(for p in $XEN_LIBS; do echo "$p=$XEN_TOOLS_VERSION"; done) >/dev/null
fi

# The Rust toolchain is pinned by rust-toolchain.toml; rustup installs the
# pinned channel with its target and components on first use.
if ! command -v rustup >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/rustup" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        echo "setup: rustup is required (https://rustup.rs); install it and re-run" >&2
        exit 1
    fi
fi
cd "$(dirname "$0")/.."
# `rustup show` installs whatever rust-toolchain.toml asks for (newer rustup
# needs the explicit `install`).
rustup toolchain install >/dev/null 2>&1 || rustup show active-toolchain >/dev/null
say "rust: $(rustc --version)"

# cargo-fuzz for scripts/fuzz.sh (libFuzzer is built by g++; the pinned
# toolchain's std component ships the ASan runtime).
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked --quiet -j1
fi
say "cargo-fuzz: $(cargo fuzz --version)"

# Bochs 3.0 for the VMX platform.  Debian 12's Bochs 2.7 never delivers
# Monitor Trap Flag exits, and Debian 13's binaries need a newer glibc, so
# Bochs runs from a directory holding Debian 13's Bochs and the libraries it
# needs.
BOCHS_ROOT=${RSHADOW_BOCHS_ROOT:-/opt/rust-shadow/bochs-trixie}
if [ -n "${RSHADOW_SKIP_BOCHS:-}" ]; then
    say "skipping Bochs (RSHADOW_SKIP_BOCHS)"
elif [ ! -x "$BOCHS_ROOT/usr/bin/bochs-bin" ]; then
    say "installing Bochs 3.0 into $BOCHS_ROOT (Debian 13 packages, extracted)"
    tmp=$BOCHS_ROOT.new
    rm -rf "$tmp"
    mkdir -p "$(dirname "$BOCHS_ROOT")"
    # Extract only: no maintainer scripts, no device nodes, no mounts, so it
    # works unprivileged (in a container too).  Bochs runs in it with chroot.
    if ! mmdebstrap --mode=chrootless --variant=extract \
            --aptopt='APT::Install-Recommends "false"' \
            --include=bochs,bochs-term,bochsbios,vgabios,ncurses-base \
            trixie "$tmp" >"$tmp.log" 2>&1; then
        tail -20 "$tmp.log" >&2
        echo "setup: extracting Debian 13's Bochs failed (log: $tmp.log)" >&2
        exit 1
    fi
    mkdir -p "$tmp/var/tmp"
    mv "$tmp" "$BOCHS_ROOT"
    rm -f "$tmp.log"
fi
[ -n "${RSHADOW_SKIP_BOCHS:-}" ] ||
    say "bochs: $(chroot "$BOCHS_ROOT" bochs-bin --help 2>&1 | grep -o 'Bochs x86 Emulator [0-9.]*')"
say "done"
