#!/usr/bin/env bash
# README command 2: set up, build, and run the whole test suite (unit, golden,
# kernel tests in throwaway network namespaces, the equivalence lab). Kernel
# tests and the lab need root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/bootstrap.sh"
cd "$root/build"
exec ctest --output-on-failure "$@"
