#!/usr/bin/env bash
# Generates docs/ with tfplugindocs from templates/, examples/ and the
# provider's schema, read through OpenTofu (no Terraform download needed).
# With --check, fails when the committed docs differ from the generated ones.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/env.sh"
cd "$repo"
scripts/setup.sh tools
scripts/setup.sh provider

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'terraform {\n  required_providers {\n    fediversity = { source = "fediversity/fediversity" }\n  }\n}\n' >"$work/main.tf"
# tfplugindocs looks the schema up by the short provider name.
(cd "$work" && "$FEDIVERSITY_TOFU" providers schema -json 2>/dev/null) |
  sed 's#"registry.opentofu.org/fediversity/fediversity"#"fediversity"#' >"$work/schema.json"

"$FEDIVERSITY_TFPLUGINDOCS" generate --provider-name fediversity --rendered-provider-name Fediversity \
  --providers-schema "$work/schema.json" >"$work/tfplugindocs.log" 2>&1 || { cat "$work/tfplugindocs.log" >&2; exit 1; }

if [ "${1:-}" = "--check" ]; then
  if ! git diff --quiet -- docs || [ -n "$(git ls-files --others --exclude-standard docs)" ]; then
    git status --short docs >&2
    echo "docs: docs/ is not what the schema, templates/ and examples/ generate: run 'make docs' and commit the result" >&2
    exit 1
  fi
fi
