#!/usr/bin/env bash
# `make bench`: the figures of BENCHMARKS.md. On a fleet of sandbox hosts of
# its own, it deploys BENCH_OPERATORS operators (default 20) with three
# applications each, each operator in a NixOS container, round the hosts
# (BENCH_HOSTS, default 2): first by the baseline (scripts/bench/baseline.sh,
# what terraform-nixos and nixos-anywhere do), then, on fresh hosts, with the
# provider and OpenTofu. It prints wall times, builds and switches per
# runtime and remote commands per runtime, and asserts nothing: performance
# is never a pass or fail here. BENCH_ONLY=baseline (or provider) runs one
# side; BENCH_KEEP=1 keeps the work dir with every log.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"
# shellcheck source=scripts/fleet.sh
source "$repo/scripts/fleet.sh"
# shellcheck source=scripts/bench/common.sh
source "$repo/scripts/bench/common.sh"

operators="${BENCH_OPERATORS:-20}"
hosts="${BENCH_HOSTS:-2}"
only="${BENCH_ONLY:-}"
fleet_dir="${FEDIVERSITY_BENCH_DIR:-/var/lib/fediversity-sandbox/bench}"
fleet="$fleet_dir.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/fediversity-bench.XXXXXX")"
results="$work/results"

log() { printf '\n==> %s\n' "$*" >&2; }

# cleanup runs however the script ends: the fleet (hosts, containers and
# all they run) is stopped, so nothing is left behind; its state (each
# host's store, over a GiB) and the logs go too unless asked to stay or
# needed to tell what failed. Only a dir that `up` marked as a fleet's is
# removed.
cleanup() {
  local status=$?
  fleet_down "$fleet_dir" || status=1
  if [ "${BENCH_KEEP:-}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "bench: logs kept in $work, the hosts' state in $fleet_dir" >&2
  else
    rm -rf "$work"
    if [ -e "$fleet_dir/.fediversity-sandbox" ]; then rm -rf "$fleet_dir"; fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# machine prints what the figures were measured on.
machine() {
  echo "machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r)"
  echo "versions: $(nix-build --version), OpenTofu $("$FEDIVERSITY_TOFU" version | sed -n '1s/^OpenTofu //p'), $(go version | cut -d ' ' -f 3), $(ssh -V 2>&1 | cut -d , -f 1)"
  echo "provider: $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
}

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

# write_config N [GUEST]: the provider's configuration for the first N
# operators, with the guest operator on the first one's runtime when asked.
write_config() {
  local apps guest_apps_json guests=""
  apps="$(printf '"%s",' "${bench_apps[@]}")"
  guest_apps_json="$(printf '"%s",' "${guest_apps[@]}")"
  [ -z "${2:-}" ] || guests="\"$guest_name\": \"$(op_name 1)\""
  mkdir -p "$work/provider"
  cp "$repo/scripts/bench/main.tf" "$work/provider/main.tf"
  printf '{"fleet_file": "%s", "operators": {%s}, "applications": [%s], "guests": {%s}, "guest_applications": [%s]}\n' \
    "$fleet" "$(operators_json "$1")" "${apps%,}" "$guests" "${guest_apps_json%,}" >"$work/provider/terraform.tfvars.json"
}

# activation_events: the builds and switches each host's runner counted
# since mark_activations, as "KIND RUNTIME" (a container's profile is
# per-container/NAME/system; the host's own is its system).
mark_activations() {
  local dir
  : >"$work/activations.mark"
  while read -r dir; do
    echo "$dir $(wc -l 2>/dev/null <"$(activations_log "$dir")" || echo 0)" >>"$work/activations.mark"
  done < <(fleet_hosts "$fleet" state_dir)
}
activation_events() {
  local dir seen
  while read -r dir seen; do
    tail -n "+$((seen + 1))" "$(activations_log "$dir")" 2>/dev/null |
      awk -v host="$(basename "$dir")" '
        { n = split($2, p, "/"); rt = (p[n - 1] == "profiles") ? "system@" host : p[n - 1]; print $1, rt }'
  done <"$work/activations.mark"
}

# command_events LOG N: every remote command the provider logged, as
# "command RUNTIME", RUNTIME the first of the N operators' runtimes whose
# name the command mentions as a word, else "-" (about the host). A log
# entry spans lines (a script is logged line by line): each starts with its
# timestamp.
command_events() {
  local names=() i
  for ((i = 1; i <= $2; i++)); do names+=("$(op_name "$i")"); done
  awk -v names="${names[*]}" '
    function flush(  who, i) {
      if (entry ~ /SSH command starting/) {
        who = "-"
        for (i = 1; i <= n; i++) if (entry ~ ("(^|[^a-z0-9-])" rt[i] "($|[^a-z0-9-])")) { who = rt[i]; break }
        print "command", who
      }
      entry = ""
    }
    BEGIN { n = split(names, rt, " ") }
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ { flush() }
    { entry = entry "\n" $0 }
    END { flush() }' "$1"
}

# provider_phase NAME N GUEST TOFU_ARG...: runs OpenTofu on the
# configuration of N operators (and the guest, when GUEST is "guest") with
# the provider's debug log, and prints the phase's figures.
provider_phase() {
  local name=$1 n=$2 guest=$3 began wall
  shift 3
  log "provider: $name"
  write_config "$n" "${guest#-}"
  mark_activations
  began="$(now)"
  (cd "$work/provider" && TF_LOG_PROVIDER=DEBUG TF_LOG_PATH="$work/provider/$name.log" \
    "$FEDIVERSITY_TOFU" "$@" -input=false -no-color >"$work/provider/$name.out" 2>&1) ||
    { tail -n 40 "$work/provider/$name.out" >&2; return 1; }
  wall="$(awk -v a="$began" -v b="$(now)" 'BEGIN { print b - a }')"
  { activation_events; command_events "$work/provider/$name.log" "$n"; } |
    summarise provider "$name" "$wall" "$n" >>"$results"
}

run_provider() {
  log "provider: the same operators, on fresh hosts"
  fleet_up "$fleet_dir" "$hosts"
  provider_phase apply "$operators" - apply -auto-approve
  provider_phase noop "$operators" - apply -auto-approve
  provider_phase refresh "$operators" - plan -refresh-only
  provider_phase add "$operators" guest apply -auto-approve
}

# field WHO PHASE KEY: one figure from the results ("-" when not measured).
field() {
  awk -v who="$1" -v phase="$2" -v key="$3" '
    $1 == who && $2 == phase { for (i = 3; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); found = 1 } }
    END { if (!found) print "-" }' "$results"
}

# row TITLE WHO PHASE: one line of the table; the ratio is to the
# baseline's wall time for the same phase.
row() {
  local wall base ratio=-
  wall="$(field "$2" "$3" wall)"
  base="$(field baseline "$3" wall)"
  if [ "$wall" != - ] && [ "$base" != - ]; then ratio="$(awk -v a="$wall" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"; fi
  printf '%-26s %-9s %7s %6s %5s/%-5s %5s/%-5s %5s/%-5s %5s\n' "$1" "$2" "$wall" "$ratio" \
    "$(field "$2" "$3" builds_max)" "$(field "$2" "$3" builds)" \
    "$(field "$2" "$3" switches_max)" "$(field "$2" "$3" switches)" \
    "$(field "$2" "$3" commands_max)" "$(field "$2" "$3" commands)" "$(field "$2" "$3" host_commands)"
}

table() {
  echo
  machine
  echo "fleet: $hosts sandbox hosts, $operators operators x ${#bench_apps[@]} applications (${bench_apps[*]}), a container runtime each"
  echo
  printf '%-26s %-9s %7s %6s %-11s %-11s %-11s %5s\n' phase side "wall s" ratio "  builds" "  switches" "  commands" ""
  printf '%-26s %-9s %7s %6s %-11s %-11s %-11s %5s\n' "" "" "" "" "  max/total" "  max/total" "  max/total" "host"
  row "apply $operators operators" baseline apply
  row "" provider apply
  row "no-op apply" baseline noop
  row "" provider noop
  row "refresh" provider refresh
  row "add operator+3 apps to rt" baseline add
  row "" provider add
  echo
  echo "max is per runtime; commands are remote commands (one SSH session each; the baseline's"
  echo "nix-copy-closure counts as one); host: commands about the host rather than one runtime."
  echo "The baseline's no-op re-evaluates every system and compares derivations, as terraform-nixos"
  echo "plans; its refresh reads nothing from the hosts, so it has no row."
}

# verdict WHAT CONDITION...: whether the figures meet one of the issue's
# targets, CONDITION an awk expression of figures; "-" is one not measured.
verdict() {
  local what=$1
  shift
  if [[ " $* " == *" - "* ]]; then
    printf '  %-62s not measured\n' "$what"
  elif awk "BEGIN { exit !($*) }"; then
    printf '  %-62s met\n' "$what"
  else
    printf '  %-62s NOT met\n' "$what"
  fi
}

targets() {
  echo
  echo "targets (from the issue):"
  verdict "apply faster than the baseline" "$(field provider apply wall) < $(field baseline apply wall)"
  verdict "at most 2 switches per runtime to add an operator with 3 apps" "$(field provider add switches_max) <= 2"
  verdict "one round trip per runtime per refresh" "$(field provider refresh commands_max) <= 1"
  verdict "zero builds and switches for a no-op apply" \
    "$(field provider noop builds) + $(field provider noop switches) == 0"
}

main() {
  log "set-up"
  "$repo/scripts/setup.sh" all
  build_sandbox
  : >"$results"
  [ "$only" = provider ] || run_baseline
  [ "$only" = baseline ] || run_provider
  table
  targets
}

main
