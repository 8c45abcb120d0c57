#!/bin/sh
# Feeds scripts/audit-module.py deliberately bad objects: each must be
# rejected by the rule its first line names ("expect: RULE"), and good.S must
# pass.  Rust cases are compiled for the module's target against the
# prebuilt core (the module's thunk flags would need core rebuilt with them),
# or, for "-host" cases, for the host's hard-float target.
#
#   tests/audit/run.sh [RESULTS_FILE]   prints "PASS|FAIL audit/NAME" lines
set -u
here=$(cd "$(dirname "$0")" && pwd)
audit=$here/../../scripts/audit-module.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0

check() { # name object expected-rule
    out=$("$audit" "$2" 2>&1)
    status=$?
    if [ "$3" = pass ]; then
        [ $status -eq 0 ] && ok=1 || ok=
    else
        [ $status -ne 0 ] && printf '%s\n' "$out" | grep -q "^audit: $3: " && ok=1 || ok=
    fi
    if [ -n "$ok" ]; then
        echo "PASS audit/$1"
    else
        echo "FAIL audit/$1 (expected $3)"
        printf '%s\n' "$out" | sed 's/^/    /'
        rc=1
    fi
}

for src in "$here"/*.S; do
    name=$(basename "$src" .S)
    expect=$(sed -n '1s/^# expect: //p' "$src")
    as --64 -o "$tmp/$name.o" "$src" || { echo "FAIL audit/$name (does not assemble)"; rc=1; continue; }
    check "$name" "$tmp/$name.o" "$expect"
done

rustc_flags="--edition 2024 -O -Cpanic=abort -Crelocation-model=pie"
for src in "$here"/*.rs; do
    name=$(basename "$src" .rs)
    expect=$(sed -n '1s/^\/\/ expect: //p' "$src")
    case $name in
    *-host) extra="--target x86_64-unknown-linux-gnu --crate-type lib --emit obj -o $tmp/$name.o" ;;
    *) extra="--target x86_64-unknown-none --crate-type staticlib -o $tmp/$name.a" ;;
    esac
    # shellcheck disable=SC2086
    rustc $rustc_flags $extra "$src" \
        2>"$tmp/$name.err" || { echo "FAIL audit/$name (does not compile)"; cat "$tmp/$name.err"; rc=1; continue; }
    obj=$tmp/$name.a
    [ -f "$obj" ] || obj=$tmp/$name.o
    check "$name" "$obj" "$expect"
done
exit $rc
