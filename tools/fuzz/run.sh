#!/usr/bin/env bash
# The full fuzz run: builds the libFuzzer targets in build-fuzz/ (clang++,
# ZTC_FUZZ=ON) and runs each of them for ZTC_FUZZ_SECONDS (default 600) with
# ZTC_FUZZ_JOBS parallel jobs (default: the number of CPUs), bounded memory.
# The corpus grows in build-fuzz/tools/fuzz/corpus/NAME and is kept between
# runs; crashes, leaks and timeouts land in build-fuzz/tools/fuzz/artifacts/.
#
#   tools/fuzz/run.sh                 # both targets
#   tools/fuzz/run.sh policy          # one target (policy or values)
#   ZTC_FUZZ_SECONDS=3600 tools/fuzz/run.sh
#
# Exit status: 0 when no target found anything, 1 otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ZTC_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${ZTC_FUZZ_SECONDS:-600}
jobs=${ZTC_FUZZ_JOBS:-$(nproc)}
targets=("$@")
((${#targets[@]})) || targets=(policy values)

command -v clang++ >/dev/null || { echo "run.sh: clang++ is missing: apt-get install clang libclang-rt-14-dev" >&2; exit 2; }
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DZTC_FUZZ=ON >/dev/null
cmake --build "$build" --target "${targets[@]/%/_fuzzer}"

dir=$build/tools/fuzz
status=0
for target in "${targets[@]}"; do
  case $target in
    policy) max_len=16384; seeds=$dir/seeds/policy ;;
    values) max_len=1024; seeds=$root/tools/fuzz/seeds/values ;;
    *) echo "run.sh: unknown target '$target' (policy or values)" >&2; exit 2 ;;
  esac
  mkdir -p "$dir/corpus/$target" "$dir/artifacts" "$dir/logs/$target"
  echo "== $target: $seconds s, $jobs jobs (logs: $dir/logs/$target)"
  before=$(find "$dir/artifacts" -type f | wc -l)
  # -fork: one process per job that is restarted after a crash, so a long run
  # goes on after a finding (-ignore_crashes); every finding is kept.
  (cd "$dir/logs/$target" &&
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$dir/${target}_fuzzer" \
      -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len="$max_len" \
      -print_final_stats=1 -dict="$root/tools/fuzz/ztc.dict" \
      -artifact_prefix="$dir/artifacts/" "$dir/corpus/$target" "$seeds" \
      >"$dir/logs/$target/run.log" 2>&1) || true
  grep -E "^#[0-9]+: .*(DONE|exec/s)|INFO: fuzzed for|stat::number_of_executed_units" \
    "$dir/logs/$target/run.log" | tail -3
  after=$(find "$dir/artifacts" -type f | wc -l)
  if ((after > before)); then
    echo "$target: $((after - before)) new finding(s) in $dir/artifacts/" >&2
    status=1
  fi
done
exit $status
