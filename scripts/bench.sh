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

# provider_pids ROOT: the provider processes among ROOT's descendants (ps
# truncates the command's name, so its path is matched).
provider_pids() {
  ps -e -o pid=,ppid=,args= | awk -v root="$1" '
    { parent[$1] = $2; n = split($3, p, "/"); if (p[n] ~ /^terraform-provider-fediversity/) cand[$1] = 1 }
    END { for (pid in cand) for (q = pid; q > 1; q = parent[q]) if (q == root) { print pid; break } }'
}

# watch_providers ROOT: until ROOT ends, every 100 ms, the provider
# processes under it; then prints the largest peak resident memory (VmHWM)
# any had and how many there were. OpenTofu starts a provider process more
# than once per command, and each keeps its own connections and memory.
watch_providers() {
  local root=$1 peak=0 pid kb
  local -A seen=()
  while kill -0 "$root" 2>/dev/null; do
    for pid in $(provider_pids "$root"); do
      seen[$pid]=1
      kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" || continue
      if [ "${kb:-0}" -gt "$peak" ]; then peak=$kb; fi
    done
    sleep 0.1
  done
  echo "peak_mib=$((peak / 1024)) providers=${#seen[@]}"
}

# timed_tofu DIR NAME TOFU_ARG...: runs OpenTofu in DIR with the provider's
# debug log in DIR/NAME.log, and prints its wall time and the watch's
# figures. tofu runs in the background for the watch to know its pid; the
# watch ends once the wait has reaped it.
timed_tofu() {
  local dir=$1 name=$2 began tofu watch status=0
  shift 2
  began="$(now)"
  (cd "$dir" && TF_LOG_PROVIDER=DEBUG TF_LOG_PATH="$dir/$name.log" \
    exec "$FEDIVERSITY_TOFU" "$@" -input=false -no-color >"$dir/$name.out" 2>&1) &
  tofu=$!
  watch_providers "$tofu" >"$dir/$name.watch" &
  watch=$!
  wait "$tofu" || status=$?
  wait "$watch"
  [ "$status" -eq 0 ] || { tail -n 40 "$dir/$name.out" >&2; return 1; }
  echo "wall=$(awk -v a="$began" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') $(cat "$dir/$name.watch")"
}

# dial_figures LOG: the SSH connections the provider opened ("SSH
# connected" in its debug log): in all, and the most to one host. The log
# does not say which provider process dialled; compare with providers=.
dial_figures() {
  awk '/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ && /SSH connected/ {
      total++; if (match($0, /host=[^ ]+/) && ++per[substr($0, RSTART, RLENGTH)] > max) max = per[substr($0, RSTART, RLENGTH)] }
    END { printf "dials=%d dials_max=%d\n", total, max }' "$1"
}

# provider_phase NAME N VARIANT TOFU_ARG...: runs OpenTofu on the
# configuration of N operators (VARIANT as for tfvars) with the provider's
# debug log, and prints the phase's figures.
provider_phase() {
  local name=$1 n=$2 variant=$3 figures wall events
  shift 3
  log "provider: $name"
  tfvars "$n" "$variant" >"$work/provider/terraform.tfvars.json"
  mark_activations
  figures="$(timed_tofu "$work/provider" "$name" "$@")"
  wall="${figures%% *}"
  events="$({ activation_events; command_events "$work/provider/$name.log" "$n"; } |
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
  provider_phase apply "$operators" - apply -auto-approve
  provider_phase noop "$operators" - apply -auto-approve
  provider_phase refresh "$operators" - plan -refresh-only
  provider_phase add "$operators" guest apply -auto-approve
  provider_phase change "$operators" "guest open" apply -auto-approve
  run_floor
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
