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

# One grep over every product file, one awk to judge the includes.
git ls-files -co --exclude-standard -- '*.h' '*.cc' | grep -v '_test\.cc$' |
  xargs -r grep -Hn '^#include "' |
  awk '
    BEGIN {
      may["model"] = "model"
      may["compiler"] = "model compiler"
      may["backend"] = "model backend"
      may["tools/ztc"] = "model compiler backend tools/ztc"
      may["tools/cni"] = "model compiler backend tools/ztc tools/cni"
      may["testsupport"] = "model compiler backend tools/ztc testsupport"
      status = 0
    }
    function folder_of(path) { sub(/\/[^\/]*$/, "", path); return path }
    {
      split($0, part, ":")
      file = part[1]; line = part[2]
      include = substr($0, length(file) + length(line) + 3)
      folder = folder_of(file)
      if (!(folder in may)) next
      target = include
      sub(/^#include "/, "", target); sub(/".*/, "", target)
      target_folder = folder_of(target)
      if (!(target_folder in may)) next
      if ((" " may[folder] " ") !~ (" " target_folder " ")) {
        printf "%s:%s: %s  (%s may include: %s)\n", file, line, include, folder, may[folder]
        status = 1
      }
    }
    END {
      if (status) print "ztc: includes that cross a layer upward (see README: code map)" > "/dev/stderr"
      exit status
    }'
