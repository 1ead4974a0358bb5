#!/usr/bin/env bash
# Adds up the per-assembly "Failed: F, Passed: P, Skipped: S" lines of dotnet test into one closing line.
set -euo pipefail
log="${1:?usage: test-summary.sh LOG}"
grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | awk -F'[:,]' '
  { failed += $2; passed += $4; skipped += $6; runs++ }
  END {
    if (runs == 0) { print "no test run found in the log" > "/dev/stderr"; exit 1 }
    printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped
    if (passed == 0 || failed > 0) exit 1
  }'
