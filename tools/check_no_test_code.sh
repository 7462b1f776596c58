#!/usr/bin/env bash
# Fails when a shipped binary holds test code: a function the test-support
# library defines (fakes, test namespaces, fixtures), or any symbol named like a
# fake. Usage: check_no_test_code.sh TESTSUPPORT_ARCHIVE BINARY...
set -euo pipefail
archive=$1
shift

# Functions defined (strong, text) in a file, demangled, one per line.
functions_of() {
  nm -C --defined-only "$1" 2>/dev/null | awk '$2 == "T" { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u
}

test_functions=$(functions_of "$archive")
if [ -z "$test_functions" ]; then
  echo "check_no_test_code: no functions found in $archive" >&2
  exit 2
fi
status=0
for binary in "$@"; do
  shipped=$(functions_of "$binary")
  leaked=$(comm -12 <(echo "$test_functions") <(echo "$shipped"))
  named=$(grep -E '(^|::)(Fake[A-Za-z]*|ScopedTestNetns)\b' <<<"$shipped" || true)
  if [ -n "$leaked$named" ]; then
    echo "$binary holds test code:" >&2
    printf '%s\n' "$leaked" "$named" | sed '/^$/d' | sort -u | head -20 | sed 's/^/  /' >&2
    status=1
  fi
done
exit "$status"
