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
# log_exe_name: a report's file says which program wrote it (asan.ztc.PID).
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:log_exe_name=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:log_exe_name=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

status=0
(cd "$build" && ctest --output-on-failure "$@") || status=$?
# A process the tests started may still be writing its log (LeakSanitizer
# reports at exit): wait until no process holds one open, 10 s at most.
for _ in $(seq 100); do
  [ -z "$(find /proc/[0-9]*/fd -lname "$logs/*" 2>/dev/null | head -1)" ] && break
  sleep 0.1
done

# Every log with text fails the run, printed in full between markers. An
# empty log holds no report (a sanitizer writes its "==PID==" line first); it
# is named and does not fail the run. CI once ended with one log and no text
# after its name: read while its process was still writing it (now waited
# for), or a process SIGKILLed (kill and signal tests) after its runtime
# opened it. With log_exe_name the next one says whose.
reports=()
for file in "$logs"/*; do
  [ -e "$file" ] || continue
  if [ -s "$file" ]; then
    reports+=("$file")
  else
    echo "ztc: empty sanitizer log $(basename "$file") (no report in it)" >&2
  fi
done
if [ "${#reports[@]}" -gt 0 ]; then
  echo "ztc: ${#reports[@]} sanitizer report(s):" >&2
  for report in "${reports[@]}"; do
    echo "=== $report ($(wc -c <"$report") bytes)" >&2
    cat "$report" >&2
    echo "=== end of $(basename "$report")" >&2
  done
  status=1
fi
exit "$status"
