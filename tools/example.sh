#!/usr/bin/env bash
# README command 1: set up, build, and compile the bundled example policy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/bootstrap.sh" >&2
exec "$root/build/ztc" compile "$root/examples/ambient-node.zt" "$@"
