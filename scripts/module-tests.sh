#!/usr/bin/env bash
# `tofu test` in every module under modules/, against the provider mocked
# (no hosts): checks the modules' formatting, then runs each module's tests
# and fails naming the modules whose tests failed (or that have none). The mocked provider still
# needs the provider's schema, so the binary dev_overrides points at is built
# first; each module's local modules are installed with `tofu get` into a
# temporary data directory, so nothing is written into the checkout.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"
cd "$repo"
scripts/setup.sh tofu
scripts/setup.sh provider

if ! "$FEDIVERSITY_TOFU" fmt -check -recursive -diff modules; then
  echo "module-tests: modules/ is not formatted: run '\"\$FEDIVERSITY_TOFU\" fmt -recursive modules'" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for dir in modules/*/; do
  module="$(basename "$dir")"
  printf -- '--- module %s\n' "$module"
  if ! compgen -G "${dir}tests/*.tftest.hcl" >/dev/null; then
    echo "module-tests: modules/$module has no tests/*.tftest.hcl" >&2
    failed+=("$module")
    continue
  fi
  if ! (cd "$dir" && export TF_DATA_DIR="$work/$module" &&
    "$FEDIVERSITY_TOFU" get -no-color >/dev/null && "$FEDIVERSITY_TOFU" test -no-color); then
    failed+=("$module")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "module-tests: tofu test failed in: ${failed[*]/#/modules/}" >&2
  exit 1
fi
