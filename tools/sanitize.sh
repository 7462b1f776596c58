#!/usr/bin/env bash
# `ZTC_SANITIZE=1 tools/test.sh` runs this: the whole test suite (unit,
# golden, kernel, lab) built with AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer (-DZTC_SANITIZE=ON) in build-asan/, and run by
# ctest there, so every ztc the tests start is the sanitized one too.
#
# Sanitizer reports go to files, not to the output of whatever ran ztc: a
# report from a ztc whose exit status no test looked at still fails the run.
# The reports are printed at the end. libnftables, libnl and the ANTLR runtime
# are not instrumented; a leak that is theirs, and only such a leak, may be
# suppressed in tools/lsan.supp (one precise frame each, with the reason).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ZTC_BUILD_DIR:-$root/build-asan}

ZTC_BUILD_DIR=$build ZTC_CMAKE_ARGS="${ZTC_CMAKE_ARGS:-} -DZTC_SANITIZE=ON" "$root/tools/bootstrap.sh"

logs=$build/sanitizer-reports
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

status=0
(cd "$build" && ctest --output-on-failure "$@") || status=$?
reports=("$logs"/*)
if [ -e "${reports[0]}" ]; then
  echo "ztc: ${#reports[@]} sanitizer report(s):" >&2
  for report in "${reports[@]}"; do
    echo "=== $report" >&2
    cat "$report" >&2
  done
  status=1
fi
exit "$status"
