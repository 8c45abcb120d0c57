#!/bin/sh
# Xen source trees for rust-shadow.
#
#   xen-source.sh fetch              download and verify the pinned tarball
#   xen-source.sh tree DIR stock     a pristine tree in DIR
#   xen-source.sh tree DIR patched   the same with xen-patches/ applied
#   xen-source.sh refresh DIR        turn DIR's commits back into xen-patches/
#   xen-source.sh config DIR [rshadow]
#                                    defconfig in DIR; with rshadow, also
#                                    CONFIG_RSHADOW=y (off by default)
#
# The source is the pinned Debian source package's upstream tarball, verified
# by its sha256, or XEN_SRC=<path> naming a Xen 4.17 tree of the user's (read,
# never modified).  Trees are git repositories: the unpacked source is the
# commit tagged rshadow-base, each patch is one commit on top, so editing the
# tree and committing is all `refresh` needs.
#
# Every failure leaves the existing tree and series as they were: new trees
# are built in DIR.new and renamed into place only when complete.
set -eu

XEN_PKG=xen
XEN_PKG_VERSION=4.17.5+72-g01140da4e8-1
XEN_UPSTREAM_VERSION=4.17.5+72-g01140da4e8
XEN_SHA256=53922f4d0a02c577f2ea9d63f65989cd88715779eebeed879ca1d314103ee06e

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
PATCHES=${PATCHES:-$TOP/xen-patches}
DL=$BUILD/dl
TARBALL=$DL/${XEN_PKG}_$XEN_UPSTREAM_VERSION.orig.tar.xz
BASE_TAG=rshadow-base
# Identity for the commits this script makes, so trees are reproducible.
GIT_ID="-c user.name=rust-shadow -c user.email=rust-shadow@invalid"

die() { printf 'xen-source: %s\n' "$*" >&2; exit 1; }
say() { printf 'xen-source: %s\n' "$*"; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

cmd_fetch() {
    if [ -f "$TARBALL" ]; then
        got=$(sha_of "$TARBALL")
        [ "$got" = "$XEN_SHA256" ] || die "$TARBALL: sha256 $got does not match the pinned $XEN_SHA256; delete it and re-run, or set XEN_SRC=<path to a Xen 4.17 tree>"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get not found: set XEN_SRC=<path to a Xen 4.17 tree>"
    mkdir -p "$DL"
    tmp=$(mktemp -d "$DL/fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    say "downloading source package $XEN_PKG=$XEN_PKG_VERSION"
    if ! (cd "$tmp" && apt-get source --download-only -qq "$XEN_PKG=$XEN_PKG_VERSION") >"$tmp/log" 2>&1; then
        cat "$tmp/log" >&2
        die "cannot download $XEN_PKG=$XEN_PKG_VERSION. Fix: run 'make setup' (as root: it enables deb-src and installs dpkg-dev), or set XEN_SRC=<path to a Xen 4.17 tree>"
    fi
    f=$tmp/$(basename "$TARBALL")
    [ -f "$f" ] || die "the source package has no $(basename "$TARBALL")"
    got=$(sha_of "$f")
    [ "$got" = "$XEN_SHA256" ] || die "downloaded $(basename "$TARBALL") has sha256 $got, expected $XEN_SHA256; nothing was kept"
    mv "$f" "$TARBALL"
    rm -rf "$tmp"
    trap - EXIT
    say "verified $(basename "$TARBALL")"
}

# Checks that XEN_SRC is a Xen 4.17 tree; prints its version.
check_xen_src() {
    mk=$XEN_SRC/xen/Makefile
    [ -d "$XEN_SRC" ] || die "XEN_SRC=$XEN_SRC: no such directory"
    [ -f "$mk" ] || die "XEN_SRC=$XEN_SRC: not a Xen source tree (no xen/Makefile)"
    major=$(sed -n 's/^export XEN_VERSION[[:space:]]*=[[:space:]]*//p' "$mk")
    minor=$(sed -n 's/^export XEN_SUBVERSION[[:space:]]*=[[:space:]]*//p' "$mk")
    [ "$major.$minor" = 4.17 ] || die "XEN_SRC=$XEN_SRC: Xen $major.$minor found, rust-shadow's patches need Xen 4.17"
}

# Unpacks the source into $1 (which must not exist).
unpack() {
    mkdir -p "$1"
    if [ -n "${XEN_SRC:-}" ]; then
        check_xen_src
        say "copying $XEN_SRC"
        tar -C "$XEN_SRC" --exclude=.git -cf - . | tar -C "$1" -xf -
    else
        cmd_fetch
        tar -C "$1" --strip-components=1 -xJf "$TARBALL"
    fi
}

# Refuses to replace a tree that holds work not in xen-patches/.
check_no_local_work() {
    dir=$1
    [ -d "$dir/.git" ] || return 0
    if [ -n "$(git -C "$dir" status --porcelain --untracked-files=no)" ]; then
        die "$dir has uncommitted changes. Commit them and run 'make refresh-patches', or discard them with 'make xen-reset'"
    fi
    head=$(git -C "$dir" rev-parse HEAD)
    recorded=$(cat "$dir/.git/rshadow-applied" 2>/dev/null || true)
    [ "$head" = "$recorded" ] ||
        die "$dir has commits not in xen-patches/. Run 'make refresh-patches' to keep them, or 'make xen-reset' to discard them"
}

cmd_tree() {
    dir=$1 flavour=$2
    case $flavour in stock|patched) ;; *) die "unknown flavour '$flavour'";; esac
    check_no_local_work "$dir"
    new=$dir.new
    rm -rf "$new"
    trap 'rm -rf "$new"' EXIT
    unpack "$new"
    git -C "$new" init -q
    # Belt and braces: nothing but sources belongs in a patch.
    printf '%s\n' build.log '.rshadow-*' >> "$new/.git/info/exclude"
    git -C "$new" add -A -f .
    # Fixed identity and date: the base commit, and so every patch's parent,
    # is the same on every machine.
    GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
        git -C "$new" $GIT_ID commit -q --no-verify -m "Xen ${XEN_SRC:-$XEN_UPSTREAM_VERSION}"
    git -C "$new" tag "$BASE_TAG"
    if [ "$flavour" = patched ]; then
        for p in "$PATCHES"/*.patch; do
            [ -f "$p" ] || continue
            if ! git -C "$new" $GIT_ID am -q --keep-cr "$p" >"$new.am.log" 2>&1; then
                sed 's/^/    /' "$new.am.log" >&2
                rm -f "$new.am.log"
                die "patch $(basename "$p") does not apply to Xen ${XEN_SRC:-$XEN_UPSTREAM_VERSION}; nothing was changed"
            fi
            rm -f "$new.am.log"
        done
    fi
    git -C "$new" rev-parse HEAD > "$new/.git/rshadow-applied"
    rm -rf "$dir"
    mv "$new" "$dir"
    trap - EXIT
    n=$(git -C "$dir" rev-list --count "$BASE_TAG..HEAD")
    say "$dir: $flavour tree ready ($n patches)"
}

cmd_refresh() {
    dir=$1
    git -C "$dir" rev-parse -q --verify "refs/tags/$BASE_TAG" >/dev/null ||
        die "$dir is not a tree made by this script (no $BASE_TAG tag)"
    [ -z "$(git -C "$dir" status --porcelain --untracked-files=no)" ] ||
        die "$dir has uncommitted changes: commit them (one commit per patch), then re-run"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    # Stable output: no hashes, numbers or version trailer that would change
    # every patch when one changes.
    git -C "$dir" format-patch -q --no-signature --zero-commit --no-numbered \
        -o "$tmp" "$BASE_TAG..HEAD"
    rm -f "$PATCHES"/*.patch
    mkdir -p "$PATCHES"
    cp "$tmp"/*.patch "$PATCHES"/ 2>/dev/null || true
    git -C "$dir" rev-parse HEAD > "$dir/.git/rshadow-applied"
    say "xen-patches/ now holds $(ls "$PATCHES"/*.patch 2>/dev/null | wc -l) patches from $dir:"
    ls "$PATCHES" | sed 's/^/    /'
}

# Configures DIR's Xen: defconfig, and CONFIG_RSHADOW=y if asked, which
# needs a tree that offers it.  A .config that comes out as it was is left
# untouched, so that an incremental build stays incremental.
cmd_config() {
    dir=$1 want=$2
    cfg=$dir/xen/.config
    [ -f "$dir/xen/Makefile" ] || die "$dir is not a Xen tree"
    rm -f "$cfg.prev"
    [ -f "$cfg" ] && cp -p "$cfg" "$cfg.prev"
    make -s -C "$dir/xen" defconfig >/dev/null
    if [ "$want" = rshadow ] || [ "$want" = rshadow-debug ]; then
        grep -q '^config RSHADOW$' "$dir/xen/arch/x86/Kconfig" ||
            die "$dir offers no CONFIG_RSHADOW (is the series applied?)"
        sed -i 's/^# CONFIG_RSHADOW is not set$/CONFIG_RSHADOW=y/' "$cfg"
        make -s -C "$dir/xen" olddefconfig >/dev/null
        grep -q '^CONFIG_RSHADOW=y$' "$cfg" ||
            die "$dir: CONFIG_RSHADOW=y does not survive olddefconfig (it needs HVM and SHADOW_PAGING)"
    fi
    # A debug build: Xen's assertions, and rust-shadow's test-only hooks.
    if [ "$want" = rshadow-debug ]; then
        sed -i 's/^# CONFIG_DEBUG is not set$/CONFIG_DEBUG=y/' "$cfg"
        make -s -C "$dir/xen" olddefconfig >/dev/null
        grep -q '^CONFIG_DEBUG=y$' "$cfg" || die "$dir: CONFIG_DEBUG=y did not take"
    fi
    if [ -f "$cfg.prev" ] && cmp -s "$cfg" "$cfg.prev"; then
        mv "$cfg.prev" "$cfg"
    fi
    rm -f "$cfg.prev"
}

case ${1:-} in
fetch) cmd_fetch ;;
tree) [ $# -eq 3 ] || die "usage: $0 tree DIR stock|patched"; cmd_tree "$2" "$3" ;;
refresh) [ $# -eq 2 ] || die "usage: $0 refresh DIR"; cmd_refresh "$2" ;;
config) [ $# -eq 2 ] || { [ $# -eq 3 ] && { [ "$3" = rshadow ] || [ "$3" = rshadow-debug ]; }; } ||
            die "usage: $0 config DIR [rshadow|rshadow-debug]"
        cmd_config "$2" "${3:-}" ;;
*) die "usage: $0 fetch | tree DIR stock|patched | refresh DIR | config DIR [rshadow|rshadow-debug]" ;;
esac
