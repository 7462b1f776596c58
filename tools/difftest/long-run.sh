#!/bin/sh
# The long difftest run, by hand (root): SEEDS seeds x POLICIES policies x PACKETS packets,
# mismatches reduced and saved under OUT. Figures of the last run: README.md.
#   tools/difftest/long-run.sh [ZTC]     e.g. SEEDS="2 3 4 5 6 7 8 9" POLICIES=300 tools/difftest/long-run.sh
set -u
here=$(dirname "$0")
ztc=${1:-$here/../../build/ztc}
seeds=${SEEDS:-2 3 4 5 6 7 8 9 10 11}
policies=${POLICIES:-200}
packets=${PACKETS:-30}
out=${OUT:-/tmp/ztc-difftest}
status=0
for seed in $seeds; do
  python3 "$here/difftest.py" run --seed "$seed" --policies "$policies" --packets "$packets" \
    --ztc "$ztc" --reduce --out "$out" || status=1
done
exit $status
