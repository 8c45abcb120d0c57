#!/bin/sh
# Builds the rust-shadow static library for the Xen whose .config is given,
# with codegen that matches that Xen:
#
#   always            x86_64-unknown-none: soft-float, no SSE/MMX/x87, no
#                     red zone; PC-relative code (pie + direct calls through
#                     PLT32 relocations, no GOT: Xen's link asserts .got is
#                     empty); no jump tables; core built with the same flags
#   INDIRECT_THUNK=y  indirect branches through __x86_indirect_thunk_*
#   RETURN_THUNK=y    returns through __x86_return_thunk
#   XEN_IBT=y         ENDBR64 at function entries
#   FRAME_POINTER=y   frame pointers
#
#   build-module.sh XEN_CONFIG OUT_LIB
set -eu

config=$1
out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$config" ] || { echo "build-module: no Xen config at $config" >&2; exit 1; }

enabled() { grep -q "^CONFIG_$1=y" "$config"; }

flags="-Crelocation-model=pie -Zplt=yes -Ccode-model=small -Cjump-tables=n"
enabled INDIRECT_THUNK && flags="$flags -Zretpoline-external-thunk"
enabled RETURN_THUNK && flags="$flags -Zfunction-return=thunk-extern"
enabled XEN_IBT && flags="$flags -Zcf-protection=branch"
enabled FRAME_POINTER && flags="$flags -Cforce-frame-pointers=yes"

target_dir=${CARGO_TARGET_DIR_MODULE:-$top/build/cargo}
cd "$top"
# RUSTC_BOOTSTRAP lets the pinned stable compiler take -Z flags and build
# core from source; -Zallow-features= (passed to our crate only) keeps the
# module itself on stable Rust.
RUSTC_BOOTSTRAP=1 RUSTFLAGS="$flags" cargo rustc --quiet --locked \
    -p rust-shadow --lib --release --target x86_64-unknown-none \
    -Zbuild-std=core --crate-type staticlib --target-dir "$target_dir" \
    -- -Zallow-features=

lib=$target_dir/x86_64-unknown-none/release/librshadow.a
mkdir -p "$(dirname "$out")"
# Replace the output only when it changed, so Xen relinks only then.
if ! cmp -s "$lib" "$out"; then
    cp "$lib" "$out.tmp"
    mv "$out.tmp" "$out"
fi
echo "$flags" > "$out.flags"
