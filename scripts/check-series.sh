#!/bin/sh
# `make check-series`: every prefix of xen-patches/ builds.
#
#   check-series.sh DIR MODULE_LIB MODULE_INCLUDE [XTF_OUT]
#
# Applies the series to the pinned source (or XEN_SRC) in DIR one patch at
# a time and, after each, builds Xen as that patch expects: with
# CONFIG_RSHADOW=y and the module (MODULE_LIB, its ABI header in
# MODULE_INCLUDE) once the patch offers the option, plainly before.  The
# module is the one from this checkout: the series and the module are
# released together, and each prefix must build, link and pass the
# glue's ABI version check against it.  Given XTF_OUT (the built test
# kernels), each prefix's Xen then boots the example kernel as dom0 on
# QEMU-SVM, and the whole series (and any prefix whose patch touches VMX)
# on Bochs-VMX too, which boots five times slower; from the patch that
# starts the module on, the boot must also show the module's banner.
#
# Builds are incremental, so the run costs one full build and what each
# patch touches.  Stops at the first patch that does not apply or build,
# names it and shows the end of its build log; exits 0 only if all built.
# DIR is scratch: it is made anew on every run.
#
# The outcome also goes to DIR.result, headed by the series' identity (a
# hash of the patches, the module library and its ABI header), one line
# per prefix and an `all` or `FAIL` line at the end: `make test` reports
# it as its series/prefix-* tests when it is for the same series.
set -eu

[ $# -eq 3 ] || [ $# -eq 4 ] ||
    { echo "usage: $0 DIR MODULE_LIB MODULE_INCLUDE [XTF_OUT]" >&2; exit 2; }
dir=$1 lib=$2 inc=$3 xtf=${4:-}
top=$(cd "$(dirname "$0")/.." && pwd)
patches=${PATCHES:-$top/xen-patches}
nproc=${NPROC:-$(nproc)}
gitid="-c user.name=rust-shadow -c user.email=rust-shadow@invalid"

result=
say() {
    printf 'check-series: %s\n' "$*"
    [ -z "$result" ] || printf '%s\n' "$*" >> "$result"
}
die() {
    printf 'check-series: %s\n' "$*" >&2
    [ -z "$result" ] || printf '%s\n' "$*" >> "$result"
    exit 1
}

[ -f "$lib" ] || die "no module library at $lib (make module builds it)"
[ -f "$inc/rshadow_abi.h" ] || die "no rshadow_abi.h in $inc"
lib=$(realpath "$lib") inc=$(realpath "$inc")
set -- "$patches"/*.patch
[ -f "$1" ] || die "no patches in $patches"
[ -z "$xtf" ] || [ -d "$xtf" ] || die "no test kernels in $xtf (make xtf-build)"

start=$(date +%s)
rm -rf "$dir"
result=$dir.result
printf 'series %s\n' "$("$top/scripts/series-id.sh" "$patches" "$lib" "$inc")" > "$result"
"$top/scripts/xen-source.sh" tree "$dir" stock >/dev/null
log=$dir.log

build() {
    make -C "$dir/xen" -j"$nproc" "$@" > "$log" 2>&1
}

# Boots the example kernel on the platforms $2; "patched" also demands the
# module's banner.
boot() {
    "$top/tests/xtf/xtf-runner" --xen "$dir/xen/xen" --flavour "$1" \
        --out "$xtf" --tests test-hvm64-example --platforms "$2" \
        --logs "$dir.boot-logs" > "$log" 2>&1
}

n=0
for p in "$@"; do
    n=$((n + 1))
    name=$(basename "$p")
    if ! git -C "$dir" $gitid am -q --keep-cr "$p" > "$log" 2>&1; then
        sed 's/^/    /' "$log" >&2
        die "FAIL: patch $n, $name, does not apply"
    fi
    t0=$(date +%s)
    # CONFIG_RSHADOW=y (off by default) once a patch has added it.
    if grep -q '^config RSHADOW$' "$dir/xen/arch/x86/Kconfig"; then
        "$top/scripts/xen-source.sh" config "$dir" rshadow ||
            die "FAIL: patch $n, $name: cannot configure CONFIG_RSHADOW=y"
        with="with the module"
        build RSHADOW_LIB="$lib" RSHADOW_INCLUDE="$inc" && ok=1 || ok=0
    else
        "$top/scripts/xen-source.sh" config "$dir" ||
            die "FAIL: patch $n, $name: defconfig failed"
        with="without CONFIG_RSHADOW (not offered yet)"
        build && ok=1 || ok=0
    fi
    if [ $ok = 0 ]; then
        tail -30 "$log" | sed 's/^/    /' >&2
        die "FAIL: patch $n, $name, does not build $with (log: $log)"
    fi
    t1=$(date +%s)
    booted=
    if [ -n "$xtf" ]; then
        flavour=stock
        [ -f "$dir/xen/arch/x86/rshadow/boot.c" ] && flavour=patched
        platforms=qemu-svm
        if [ $n -eq $# ] || grep -q '^diff --git a/xen/arch/x86/hvm/vmx/' "$p"; then
            platforms=qemu-svm,bochs-vmx
        fi
        if ! boot $flavour $platforms; then
            sed 's/^/    /' "$log" >&2
            die "FAIL: patch $n, $name, builds but does not boot (logs: $dir.boot-logs)"
        fi
        booted=", booted on $platforms"
        [ $flavour = patched ] && booted="$booted with the module's banner"
    fi
    say "ok   $n $name: built $with in $((t1 - t0)) s$booted${booted:+ in $(( $(date +%s) - t1 )) s}"
done
say "all $n patches build one by one, in $(( $(date +%s) - start )) s"
