#!/usr/bin/env bash
# Filters `go test -v` output to what a reader needs: each test's result
# (so skipped acceptance tests are visible, with their reason), the whole
# log of every test that failed, subtests included, and the package lines.
# A test's log is held until its result, since parallel tests interleave.
# Exits non-zero when any test or package failed.
awk '
  function flush(name, show,   i, k) {
    for (i = 0; i < n; i++) {
      k = order[i]
      if (k == name || index(k, name "/") == 1) {
        if (show && (k in out)) printf "%s", out[k]
        delete out[k]
      }
    }
  }
  panicked { print; next }
  /^(=== RUN|=== CONT|=== NAME)/ {
    current = $3
    if (!(current in seen)) { seen[current] = 1; order[n++] = current }
    next
  }
  /^=== PAUSE/ { next }
  /^--- PASS/ { print; flush($3, 0); next }
  /^--- SKIP/ { print; flush($3, 1); next }
  /^--- FAIL/ { failed = 1; print; flush($3, 1); next }
  /^ +--- FAIL/ { print; next }
  /^ +--- (PASS|SKIP)/ { next }
  /^(ok|FAIL|PASS$|\?)/ { if ($1 == "FAIL") failed = 1; print; next }
  /^panic:/ { failed = 1; panicked = 1; flush(current, 1); print; next }
  { out[current] = out[current] $0 "\n" }
  END { exit failed }
'
