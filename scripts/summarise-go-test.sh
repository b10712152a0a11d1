#!/usr/bin/env bash
# Filters `go test -v` output to what a reader needs: each test's result
# (so skipped acceptance tests are visible), failures with their logs, and
# the package lines. Exits non-zero when any test or package failed.
awk '
  /^(=== RUN|=== PAUSE|=== CONT|=== NAME)/ { next }
  /^--- (PASS|SKIP)/ { print; next }
  /^--- FAIL/ { failed = 1; print; next }
  /^(ok|FAIL|PASS$|\?)/ { if ($1 == "FAIL") failed = 1; print; next }
  /^panic:/ { failed = 1 }
  { if (failed || /(_test\.go:[0-9]+|Error|error:)/) print }
  END { exit failed }
'
