#!/usr/bin/env bash
# `make bench`: the figures of BENCHMARKS.md. On a fleet of sandbox hosts of
# its own, it deploys BENCH_OPERATORS operators (default 20) with three
# applications each, each operator in a NixOS container, round the hosts
# (BENCH_HOSTS, default 2): first by the baseline (scripts/bench/baseline.sh,
# what terraform-nixos and nixos-anywhere do), then, on fresh hosts, with the
# provider and OpenTofu, then changes one setting of one operator. Last, the
# floor: as many resources as OpenTofu's own terraform_data, which do no I/O.
# It prints wall times, builds and switches per runtime, remote commands per
# runtime, the provider's peak memory and SSH connections, and the
# provider's no-ops against the floor's; it asserts nothing: performance
# is never a pass or fail here. BENCH_ONLY=baseline (or provider) runs one
# side; BENCH_KEEP=1 keeps the work dir with every log.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bench/measure.sh
source "$repo/scripts/bench/measure.sh"

operators="${BENCH_OPERATORS:-20}"
hosts="${BENCH_HOSTS:-2}"
only="${BENCH_ONLY:-}"
fleet_dir="${FEDIVERSITY_BENCH_DIR:-/var/lib/fediversity-sandbox/bench}"
fleet="$fleet_dir.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/fediversity-bench.XXXXXX")"
results="$work/results"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

run_baseline() {
  log "baseline: $operators operators, one at a time"
  fleet_up "$fleet_dir" "$hosts"
  "$repo/scripts/bench/baseline.sh" "$fleet" "$work/baseline" "$operators" >>"$results"
}

# operators_json N: the first N operators and their hosts, for OpenTofu.
operators_json() {
  local i names=()
  mapfile -t names < <(fleet_hosts "$fleet" name)
  for ((i = 1; i <= $1; i++)); do
    printf '%s"%s": "%s"' "$([ "$i" -gt 1 ] && echo ,)" "$(op_name "$i")" "${names[$(op_host "$i" "${#names[@]}")]}"
  done
}

# tfvars N VARIANT: the variables of the first N operators' configuration;
# VARIANT "-", or words: "guest" adds the guest operator on the first one's
# runtime, "open" opens registrations on the first one's Mastodon.
tfvars() {
  local apps guest_apps_json guests="" open=""
  apps="$(printf '"%s",' "${bench_apps[@]}")"
  guest_apps_json="$(printf '"%s",' "${guest_apps[@]}")"
  [[ " $2 " != *" guest "* ]] || guests="\"$guest_name\": \"$(op_name 1)\""
  [[ " $2 " != *" open "* ]] || open="\"$(op_name 1)\""
  printf '{"fleet_file": "%s", "operators": {%s}, "applications": [%s], "guests": {%s}, "guest_applications": [%s], "registrations_open": [%s]}\n' \
    "$fleet" "$(operators_json "$1")" "${apps%,}" "$guests" "${guest_apps_json%,}" "$open"
}

# provider_phase NAME N VARIANT TOFU_ARG...: runs OpenTofu on the
# configuration of N operators (VARIANT as for tfvars) with the provider's
# debug log, and prints the phase's figures.
provider_phase() {
  local name=$1 n=$2 variant=$3 figures wall events names
  shift 3
  mapfile -t names < <(op_names "$n")
  log "provider: $name"
  tfvars "$n" "$variant" >"$work/provider/terraform.tfvars.json"
  mark_activations
  figures="$(timed_tofu "$work/provider" "$name" "$@")"
  wall="${figures%% *}"
  events="$({ activation_events; command_events "$work/provider/$name.log" "${names[@]}"; } |
    summarise provider "$name" "${wall#wall=}" "$n")"
  echo "$events ${figures#wall=* } $(dial_figures "$work/provider/$name.log")" >>"$results"
}

# floor_phase NAME TOFU_ARG...: one phase of the floor, timed as the
# provider's are.
floor_phase() {
  log "floor: $1"
  echo "floor $1 $(timed_tofu "$work/floor" "$@")" >>"$results"
}

# run_floor: the same number of resources as the provider's N operators,
# as terraform_data (scripts/bench/floor.tf): applied, then applied and
# refreshed with nothing changed, to compare the provider's no-ops with.
run_floor() {
  mkdir -p "$work/floor"
  cp "$repo/scripts/bench/floor.tf" "$work/floor/main.tf"
  cp "$repo/scripts/bench/floor-fleet/fleet.tf" "$work/floor/"
  tfvars "$operators" - >"$work/floor/terraform.tfvars.json"
  floor_phase apply apply -auto-approve
  floor_phase noop apply -auto-approve
  floor_phase refresh plan -refresh-only
}

run_provider() {
  log "provider: the same operators, on fresh hosts"
  fleet_up "$fleet_dir" "$hosts"
  mkdir -p "$work/provider"
  cp "$repo/scripts/bench/main.tf" "$work/provider/main.tf"
  cp "$repo/scripts/bench/fleet/fleet.tf" "$work/provider/"
  provider_phase apply "$operators" - apply -auto-approve
  provider_phase noop "$operators" - apply -auto-approve
  provider_phase refresh "$operators" - plan -refresh-only
  provider_phase add "$operators" guest apply -auto-approve
  provider_phase change "$operators" "guest open" apply -auto-approve
  run_floor
}

# row TITLE WHO PHASE: one line of the table; the ratio is to the
# baseline's wall time for the same phase.
row() {
  local wall base ratio=-
  wall="$(field "$2" "$3" wall)"
  base="$(field baseline "$3" wall)"
  if [ "$wall" != - ] && [ "$base" != - ]; then ratio="$(awk -v a="$wall" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"; fi
  printf '%-26s %-9s %7s %6s %5s/%-5s %5s/%-5s %5s/%-5s %5s %7s %5s/%-5s %5s\n' "$1" "$2" "$wall" "$ratio" \
    "$(field "$2" "$3" builds_max)" "$(field "$2" "$3" builds)" \
    "$(field "$2" "$3" switches_max)" "$(field "$2" "$3" switches)" \
    "$(field "$2" "$3" commands_max)" "$(field "$2" "$3" commands)" "$(field "$2" "$3" host_commands)" \
    "$(field "$2" "$3" peak_mib)" "$(field "$2" "$3" dials_max)" "$(field "$2" "$3" dials)" "$(field "$2" "$3" providers)"
}

# overhead PHASE TITLE: the provider's wall time for a phase against the
# floor's, OpenTofu alone on as many resources.
overhead() {
  local wall floor ratio=-
  wall="$(field provider "$1" wall)"
  floor="$(field floor "$1" wall)"
  if [ "$wall" != - ] && [ "$floor" != - ]; then ratio="$(awk -v a="$wall" -v b="$floor" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"; fi
  printf '%-26s %10s %8s %6s\n' "$2" "$wall" "$floor" "$ratio"
}

overhead_table() {
  echo
  echo "provider overhead: the floor is the same $((hosts + 5 * operators)) resources as terraform_data (no I/O)"
  printf '%-26s %10s %8s %6s\n' phase "provider s" "floor s" ratio
  overhead apply "apply $operators operators"
  overhead noop "no-op apply"
  overhead refresh "refresh"
}

table() {
  echo
  machine
  echo "fleet: $hosts sandbox hosts, $operators operators x ${#bench_apps[@]} applications (${bench_apps[*]}), a container runtime each"
  echo
  printf '%-26s %-9s %7s %6s %-11s %-11s %-11s %5s %7s %-11s %5s\n' phase side "wall s" ratio "  builds" "  switches" "  commands" "" "peak" "  SSH dials" ""
  printf '%-26s %-9s %7s %6s %-11s %-11s %-11s %5s %7s %-11s %5s\n' "" "" "" "" "  max/total" "  max/total" "  max/total" "host" "MiB" "  max/total" "procs"
  row "apply $operators operators" baseline apply
  row "" provider apply
  row "no-op apply" baseline noop
  row "" provider noop
  row "refresh" provider refresh
  row "add operator+3 apps to rt" baseline add
  row "" provider add
  row "change one setting" provider change
  echo
  echo "max is per runtime; commands are remote commands (one SSH session each; the baseline's"
  echo "nix-copy-closure counts as one); host: commands about the host rather than one runtime."
  echo "The baseline's no-op re-evaluates every system and compares derivations, as terraform-nixos"
  echo "plans; its refresh reads nothing from the hosts, so it has no row."
  echo "peak: the largest VmHWM of the phase's provider processes (procs: how many OpenTofu started);"
  echo "SSH dials: connections the provider opened (its \"SSH connected\" log entries), max to one host."
  echo "change one setting: registrations_open on $(op_name 1)'s Mastodon."
}


targets() {
  echo
  echo "targets (from the issue):"
  verdict "apply faster than the baseline" "$(field provider apply wall) < $(field baseline apply wall)"
  verdict "at most 2 switches per runtime to add an operator with 3 apps" "$(field provider add switches_max) <= 2"
  verdict "one round trip per runtime per refresh" "$(field provider refresh commands_max) <= 1"
  verdict "zero builds and switches for a no-op apply" \
    "$(field provider noop builds) + $(field provider noop switches) == 0"
  verdict "one build and one switch, on one runtime, to change one setting" \
    "$(field provider change builds) == 1 && $(field provider change switches) == 1"
  # The log does not tell provider processes apart: a host dialled more
  # often than OpenTofu started providers had more than one connection.
  verdict "at most one SSH connection per host per provider process" \
    "$(field provider apply dials_max) <= $(field provider apply providers) && $(field provider change dials_max) <= $(field provider change providers)"
}

main() {
  log "set-up"
  "$repo/scripts/setup.sh" all
  build_sandbox
  : >"$results"
  [ "$only" = provider ] || run_baseline
  [ "$only" = baseline ] || run_provider
  table
  overhead_table
  targets
}

main
