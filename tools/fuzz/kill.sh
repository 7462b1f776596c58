#!/usr/bin/env bash
# The long kill test (root): SIGKILLs `ztc load --netns NS` of
# examples/ambient-node.zt and a changed version of it, alternately, at delays
# spread over a whole load, in a throwaway network namespace, and checks after
# every kill that the next load converges exactly (ztc diff exits 0, the same
# nft table, rules and routes as an uninterrupted load, no duplicate rule).
# Prints how many kills were tried and where they landed. The same test runs
# in CI with 30 kills (tools/ztc/kill_kernel_test.cc, label kernel).
#
#   tools/fuzz/kill.sh                      # 200 kills or 60 s, whichever first
#   ZTC_KILL_COUNT=1000 ZTC_KILL_SECONDS=600 tools/fuzz/kill.sh
#   ZTC_KILL_SEED=1234 tools/fuzz/kill.sh   # replay the delays of a run
#   ZTC_BUILD_DIR=build-asan ZTC_CMAKE_ARGS=-DZTC_SANITIZE=ON tools/fuzz/kill.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZTC_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
if [ "$(id -u)" -ne 0 ]; then
  echo "kill.sh: needs root (network namespaces)" >&2
  exit 77
fi
ZTC_BUILD_DIR=$build "$root/tools/bootstrap.sh"
report=$(mktemp /tmp/ztc-kill-report-XXXXXX)
trap 'rm -f "$report"' EXIT
status=0
ZTC_KILL_COUNT=${ZTC_KILL_COUNT:-200} ZTC_KILL_SECONDS=${ZTC_KILL_SECONDS:-60} \
  ZTC_KILL_REPORT=$report "$build/ztc_tests" --run_test=kill_kernel --log_level=error \
  --report_level=short || status=$?
cat "$report"
exit "$status"
