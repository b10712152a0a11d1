#!/usr/bin/env bash
# `make demo`: brings up sandbox hosts and applies examples/quickstart to them.
# `make demo-down`: destroys it and stops the hosts. Both are idempotent.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"
# shellcheck source=scripts/fleet.sh
source "$repo/scripts/fleet.sh"
cd "$repo"
fleet_dir="${FEDIVERSITY_DEMO_DIR:-/var/lib/fediversity-sandbox/demo}"
work="$repo/.demo"

up() {
  scripts/setup.sh all
  build_sandbox
  fleet_up "$fleet_dir" "${DEMO_HOSTS:-2}"
  mkdir -p "$work"
  cp examples/quickstart/main.tf "$work/main.tf"
  printf '{"fleet_file": "%s"}\n' "$fleet_dir.json" >"$work/terraform.tfvars.json"
  (cd "$work" && "$FEDIVERSITY_TOFU" apply -auto-approve -input=false)
  echo
  echo "Sandbox hosts are up; the fleet is described in $fleet_dir.json."
  echo "Each application answers on host1's address for its own domain:"
  (cd "$work" && "$FEDIVERSITY_TOFU" output -raw try; echo) | while read -r try; do
    [ -n "$try" ] || continue
    echo "  \$ $try"
    sh -c "$try" || true
    echo
  done
  echo "Log in with one of the ssh_commands above. Tear down with: make demo-down"
}

down() {
  if [ -f "$work/terraform.tfvars.json" ] && [ -x "$FEDIVERSITY_TOFU" ]; then
    (cd "$work" && "$FEDIVERSITY_TOFU" destroy -auto-approve -input=false) || true
  fi
  rm -rf "$work"
  fleet_down "$fleet_dir"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: demo.sh [up|down]" >&2; exit 2 ;;
esac
