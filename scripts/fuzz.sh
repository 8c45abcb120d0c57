#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds the fuzz targets in rust-shadow/fuzz (cargo-fuzz, libFuzzer, with
# AddressSanitizer) and runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default $FUZZ_SECONDS, else 10); every target unless
# some are named.  Prints one line per target,
#   fuzz/<target> PASS|FAIL (<runs> runs in <s> s)
# then "fuzz: N passed, N failed", and exits non-zero if any target crashed,
# panicked, leaked or timed out.  A crashing input is kept in
# rust-shadow/fuzz/artifacts/<target>/ (not in git); reproduce it with
#   rust-shadow/fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>
#
# Each target starts from its committed seeds (rust-shadow/fuzz/seeds/) and
# grows a working corpus in a temporary directory, so a run takes the time
# asked for whatever ran before (libFuzzer replays a corpus before its clock
# starts).  FUZZ_KEEP_CORPUS=1 keeps it in rust-shadow/fuzz/corpus/ (not in
# git) instead, to build on it over longer runs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).  The pinned stable
# toolchain builds it: cargo-fuzz passes -Zsanitizer, which RUSTC_BOOTSTRAP=1
# allows there (the sanitizer runtimes ship with the std component), so no
# nightly is needed.  FUZZ_SANITIZER=none builds without ASan.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
FUZZ=$TOP/rust-shadow/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-10}
case ${1:-} in
    ''|*[!0-9]*) ;;
    *) SECONDS_EACH=$1; shift ;;
esac
TARGETS=${*:-control ring}
SANITIZER=${FUZZ_SANITIZER:-address}
# A single libFuzzer process and a single build job: the machine is shared
# with emulator runs.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing; install it with: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

cd "$TOP/rust-shadow"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build_log=$tmp/build.log
for t in $TARGETS; do
    if ! RUSTC_BOOTSTRAP=1 cargo fuzz build --sanitizer "$SANITIZER" "$t" >"$build_log" 2>&1; then
        tail -40 "$build_log" >&2
        echo "fuzz/$t FAIL (build failed)"
        echo "fuzz: 0 passed, 1 failed"
        exit 1
    fi
done

BIN=$FUZZ/target/x86_64-unknown-linux-gnu/release
passed=0
failed=0
for t in $TARGETS; do
    corpus=$tmp/corpus-$t
    [ "${FUZZ_KEEP_CORPUS:-0}" = 0 ] || corpus=$FUZZ/corpus/$t
    seeds=$FUZZ/seeds/$t
    artifacts=$FUZZ/artifacts/$t
    mkdir -p "$corpus" "$artifacts" "$seeds"
    log=$FUZZ/artifacts/$t.log
    start=$(date +%s.%N)
    # -timeout: one input taking this long is a hang.  -max_len: room for
    # long request sequences (libFuzzer's default starts tiny).
    # -print_final_stats gives the run count even after a crash.
    # ASAN_OPTIONS as `cargo fuzz run` sets them: Rust crates trip ASan's
    # ODR check without any real violation.
    if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0} \
            "$BIN/$t" "$corpus" "$seeds" \
            -max_total_time="$SECONDS_EACH" -timeout=30 -max_len=4096 \
            -rss_limit_mb=4096 -artifact_prefix="$artifacts/" \
            -print_final_stats=1 >"$log" 2>&1; then
        status=PASS
        passed=$((passed + 1))
    else
        status=FAIL
        failed=$((failed + 1))
    fi
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
    echo "fuzz/$t $status (${runs:-0} runs in $secs s)"
    if [ "$status" = FAIL ]; then
        grep -E 'panicked at|ERROR:|SUMMARY:|Test unit written|assertion' "$log" | head -20 | sed 's/^/    /'
        echo "    full log: $log"
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
