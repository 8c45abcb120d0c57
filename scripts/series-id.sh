#!/bin/sh
# The identity of what check-series checks: a hash of the patches (in
# order), the module library and its ABI header.
#
#   series-id.sh PATCH_DIR MODULE_LIB MODULE_INCLUDE
set -eu
[ $# -eq 3 ] || { echo "usage: $0 PATCH_DIR MODULE_LIB MODULE_INCLUDE" >&2; exit 2; }
cat "$1"/*.patch "$2" "$3/rshadow_abi.h" | sha256sum | cut -d' ' -f1
