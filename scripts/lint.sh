#!/usr/bin/env bash
# gofmt, go vet and golangci-lint (cached binary built by setup.sh tools).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/env.sh"
cd "$repo"
unformatted="$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))"
if [ -n "$unformatted" ]; then
  echo "lint: not gofmt-formatted: $unformatted" >&2
  exit 1
fi
go vet ./...
"$FEDIVERSITY_GOLANGCI_LINT" run ./...
