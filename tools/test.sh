#!/usr/bin/env bash
# README command 2: set up, build, and run the whole test suite (unit, golden,
# kernel tests in throwaway network namespaces, the equivalence lab). Kernel
# tests and the lab need root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ZTC_SANITIZE=1: the same under ASan/UBSan, in build-asan/ (tools/sanitize.sh).
if [ "${ZTC_SANITIZE:-0}" = 1 ]; then exec "$root/tools/sanitize.sh" "$@"; fi
"$root/tools/bootstrap.sh"
cd "$root/build"
exec ctest --output-on-failure "$@"
