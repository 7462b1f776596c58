#!/usr/bin/env bash
# Fails when a file includes a header of a layer above its own (README: code
# map). Layers, bottom up: model; compiler and backend (beside each other,
# neither includes the other); the command line (tools/ztc). Tests (*_test.cc)
# and the test support may include any layer; nothing in the product includes
# testsupport/. Prints each offending include as FILE:LINE: #include "..." and
# what that layer may include.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

allowed() {  # folder of the including file -> folders it may include
  case "$1" in
    model) echo "model" ;;
    compiler) echo "model compiler" ;;
    backend) echo "model backend" ;;
    tools/ztc) echo "model compiler backend tools/ztc" ;;
    tools/cni) echo "model compiler backend tools/ztc tools/cni" ;;
    testsupport) echo "model compiler backend tools/ztc testsupport" ;;
    *) echo "" ;;
  esac
}

status=0
while IFS= read -r file; do
  folder=$(dirname "$file")
  case "$file" in *_test.cc) continue ;; esac
  may=$(allowed "$folder")
  [ -n "$may" ] || continue
  while IFS=: read -r line include; do
    target=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$include")
    target_folder=$(dirname "$target")
    case "$target_folder" in model | compiler | backend | tools/ztc | tools/cni | testsupport) ;; *) continue ;; esac
    if ! grep -qw -- "$target_folder" <<<"$may"; then
      echo "$file:$line: $include  ($folder may include: $may)"
      status=1
    fi
  done < <(grep -n '^#include "' "$file" || true)
done < <(git ls-files -co --exclude-standard -- '*.h' '*.cc')
if [ "$status" -ne 0 ]; then
  echo "ztc: includes that cross a layer upward (see README: code map)" >&2
fi
exit "$status"
