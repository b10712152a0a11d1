#!/usr/bin/env bash
# `make bench-scale`: the scale figures of BENCHMARKS.md. For each fleet size
# N in BENCH_SCALE_SIZES (default "10 100 1000"), on BENCH_SCALE_HOSTS
# sandbox hosts (default 20) brought up fresh for that size, it generates a
# configuration of N operators, each through modules/operator with a
# container runtime of its own and three applications (Mastodon, Pixelfed,
# Matrix), round the hosts, and measures with OpenTofu:
#   apply    the first apply of the whole fleet
#   plan     a plan with nothing changed (refresh of every resource)
#   noop     an apply with nothing changed
#   change   an apply that changes one setting of one operator
#   target   the same change to another operator, applied with -target on
#            its module
#   panel-*  one more operator on the same hosts, applied as examples/panel
#            applies one (a workspace and state of its own): added, planned
#            with nothing changed, then the same change
#   floor-*  the fleet's phases (not the panel's) for the same configuration
#            made of terraform_data, OpenTofu's built-in resource with no
#            I/O (scripts/bench/scale/floor)
#   plugin-* the no-op plan and apply again, of the same state, with the
#            provider binary serving its floor (FEDIVERSITY_BENCH_FLOOR: the
#            same schemas, no reads, no logic): what OpenTofu and the plugin
#            framework cost for these resources, apart from the provider's own
# Per phase: wall time, builds and switches (in all, most on one runtime,
# runtimes touched), remote commands, uploads, SSH connections, the
# provider's peak memory. The applications are declared but not started
# (BENCH_SCALE_RUNNING=false, the default) so that the figures measure the
# provider and Nix, not the stand-in applications. It asserts nothing: it
# prints the figures and which targets they meet, and fails only when a
# no-op plan or apply changed something, a bug. BENCH_KEEP=1 keeps the
# work dir with every log; BENCH_SCALE_PARALLELISM sets OpenTofu's
# -parallelism (default 10, OpenTofu's own default).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bench/measure.sh
source "$repo/scripts/bench/measure.sh"

read -r -a sizes <<<"${BENCH_SCALE_SIZES:-10 100 1000}"
hosts="${BENCH_SCALE_HOSTS:-20}"
running="${BENCH_SCALE_RUNNING:-false}"
parallelism="${BENCH_SCALE_PARALLELISM:-10}"
fleet_dir="${FEDIVERSITY_BENCH_DIR:-/var/lib/fediversity-sandbox/bench-scale}"
fleet="$fleet_dir.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/fediversity-bench-scale.XXXXXX")"
results="$work/results"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# scale_name I: the I-th operator (from 1), also its runtime's and
# container's name.
scale_name() { printf 's%04d' "$1"; }

# scale_names N: the first N operators, one a line.
scale_names() {
  local i
  for ((i = 1; i <= $1; i++)); do scale_name "$i"; echo; done
}

# scale_tfvars N OPEN: the variables of N operators round the hosts of the
# size's fleet (its description is kept in the work dir, as the floor runs
# after the fleet is stopped); OPEN names the operators whose Mastodon has
# registrations open, separated by spaces.
scale_tfvars() {
  local n=$1 i hostnames=() operators="" apps open="" names=()
  read -r -a names <<<"$2"
  [ "${#names[@]}" -eq 0 ] || open="$(printf '"%s",' "${names[@]}")"
  mapfile -t hostnames < <(fleet_hosts "$work/n$n/fleet.json" name)
  for ((i = 1; i <= n; i++)); do
    operators+="$([ "$i" -gt 1 ] && echo ,)\"$(scale_name "$i")\": \"${hostnames[$(op_host "$i" "${#hostnames[@]}")]}\""
  done
  apps="$(printf '"%s",' "${bench_apps[@]}")"
  printf '{"fleet_file": "%s", "operators": {%s}, "applications": [%s], "running": %s, "registrations_open": [%s]}\n' \
    "$work/n$n/fleet.json" "$operators" "${apps%,}" "$running" "${open%,}"
}

# panel_name N: the operator the panel adds beside a fleet of N, the (N+1)-th.
panel_name() { scale_name $(($1 + 1)); }

# panel_tfvars N OPEN: the variables examples/panel takes for the (N+1)-th
# operator, on the host it would have in a fleet of N+1; OPEN (true or
# false): whether its Mastodon has registrations open.
panel_tfvars() {
  local n=$1 i op apps="" kind addresses=() keys=()
  i="$(op_host $((n + 1)) "$hosts")"
  op="$(panel_name "$n")"
  mapfile -t addresses < <(fleet_hosts "$work/n$n/fleet.json" address)
  mapfile -t keys < <(fleet_host_keys "$work/n$n/fleet.json")
  for kind in "${bench_apps[@]}"; do
    apps+="\"$kind\": {\"running\": $running, \"registrations_open\": $([ "$kind" = mastodon ] && echo "$2" || echo false)},"
  done
  printf '{"name": "%s", "domain": "%s.example", "contact_email": "admin@%s.example", "host": {"address": "%s", "host_key": "%s"}, "applications": {%s}}\n' \
    "$op" "$op" "$op" "${addresses[$i]}" "${keys[$i]}" "${apps%,}"
}

# copy_operator_module DEST: modules/operator without its tofu tests (tests/),
# which are not part of the module a configuration uses.
copy_operator_module() {
  cp -r "$repo/modules/operator" "$1"
  rm -rf "$1/tests"
}

# prepare_panel N: examples/panel as a panel runs it, initialised from the
# provider mirror, in the (N+1)-th operator's workspace; its state is a local
# file, not the example's PostgreSQL (a backend override, as the panel's
# own configuration is not edited).
prepare_panel() {
  local dir="$work/n$1/panel" op
  op="$(panel_name "$1")"
  mkdir -p "$dir/examples" "$dir/modules"
  cp -r "$repo/examples/panel" "$dir/examples/panel"
  copy_operator_module "$dir/modules/operator"
  printf 'terraform {\n  backend "local" {}\n}\n' >"$dir/examples/panel/backend_override.tf"
  (cd "$dir/examples/panel" && export TF_CLI_CONFIG_FILE="$work/mirror/cli.tfrc" &&
    "$FEDIVERSITY_TOFU" init -input=false -no-color >/dev/null &&
    "$FEDIVERSITY_TOFU" workspace select -or-create=true -no-color "$op" >/dev/null)
}

# prepare N: the work dirs of size N, the provider's and the floor's, each
# with its configuration and local module installed (`tofu get`: the
# provider comes from the CLI configuration's dev_overrides, not init), and
# the panel's.
prepare() {
  local dir="$work/n$1"
  mkdir -p "$dir"
  cp -r "$repo/scripts/bench/scale/floor" "$dir/floor"
  cp "$repo/scripts/bench/floor-fleet/fleet.tf" "$dir/floor/"
  mkdir -p "$dir/provider"
  cp "$repo/scripts/bench/scale/main.tf" "$repo/scripts/bench/fleet/fleet.tf" "$dir/provider/"
  copy_operator_module "$dir/provider/operator"
  (cd "$dir/provider" && "$FEDIVERSITY_TOFU" get -no-color >/dev/null)
  (cd "$dir/floor" && "$FEDIVERSITY_TOFU" get -no-color >/dev/null)
  prepare_panel "$1"
}

# upload_figures LOG: the files the provider wrote on hosts.
upload_figures() {
  echo "uploads=$(grep -c 'SSH upload done' "$1" || true)"
}

# plan_figures OUT: whether OpenTofu found nothing to change.
plan_figures() {
  if grep -q '^No changes\.' "$1"; then echo "nochange=yes"; else echo "nochange=no"; fi
}

# noop_check N PHASE [WHO]: a phase meant to change nothing that found
# changes, or built, switched or wrote anything, is a bug: say so, and fail
# the run (the smoke run in CI relies on it; timings never fail it). WHO:
# provider (the default, whose plugin floor is checked too) or panel.
noop_check() {
  local who="${3:-provider}@$1"
  if [ "$(field "$who" "$2" nochange)" = no ] || [ "$(field "plugin@$1" "$2" nochange)" = no ] ||
    [ "$(($(field "$who" "$2" builds) + $(field "$who" "$2" switches) + $(field "$who" "$2" uploads)))" -ne 0 ]; then
    echo "  ^ this no-op changed something: see $2.out (and plugin-$2.out) under $work/n$1"
    noop_failed=1
  fi
}

# measure_phase WHO NAME DIR RUNTIMES TOFU_ARG...: one phase run with
# OpenTofu in DIR, its figures in $results as WHO's; RUNTIMES: the names of
# the runtimes it is about, separated by spaces.
measure_phase() {
  local who=$1 name=$2 dir=$3 figures wall events names
  read -r -a names <<<"$4"
  shift 4
  mark_activations
  # BENCH_SCALE_PROFILE=1: a CPU profile of each provider process of the
  # phase, in NAME.cpu.PID (go tool pprof reads it).
  figures="$(FEDIVERSITY_CPU_PROFILE="${BENCH_SCALE_PROFILE:+$dir/$name.cpu}" timed_tofu "$dir" "$name" "$@")" || return 1
  wall="${figures%% *}"
  events="$({ activation_events; command_events "$dir/$name.log" "${names[@]}"; } |
    summarise "$who" "$name" "${wall#wall=}" "${#names[@]}")"
  echo "$events ${figures#wall=* } $(dial_figures "$dir/$name.log") $(upload_figures "$dir/$name.log") $(plan_figures "$dir/$name.out")" >>"$results"
}

# provider_phase N NAME OPEN TOFU_ARG...: one phase of the provider on N
# operators (OPEN as for scale_tfvars).
provider_phase() {
  local n=$1 name=$2 open=$3
  shift 3
  log "N=$n provider: $name"
  scale_tfvars "$n" "$open" >"$work/n$n/provider/terraform.tfvars.json"
  measure_phase "provider@$n" "$name" "$work/n$n/provider" "$(scale_names "$n" | tr '\n' ' ')" "$@"
}

# panel_phase N NAME OPEN TOFU_ARG...: one phase of the (N+1)-th operator
# beside the fleet of N, in its own workspace as examples/panel applies it
# (OPEN as for panel_tfvars), with the panel's provider and SSH key.
panel_phase() {
  local n=$1 name=$2 open=$3 dir="$work/n$1/panel/examples/panel" op
  shift 3
  op="$(panel_name "$n")"
  log "N=$n panel: $name"
  panel_tfvars "$n" "$open" >"$dir/$op.tfvars.json"
  TF_CLI_CONFIG_FILE="$work/mirror/cli.tfrc" TF_WORKSPACE="$op" \
    FEDIVERSITY_SSH_PRIVATE_KEY_FILE="$(fleet_top "$work/n$n/fleet.json" client_key_path)" \
    measure_phase "panel@$n" "$name" "$dir" "$op" "$@" -var-file="$op.tfvars.json"
}

# plugin_floor_phase N NAME TOFU_ARG...: one phase of the provider's
# configuration and state with the provider serving its floor, timed as the
# provider's are; it reaches no host.
plugin_floor_phase() {
  local n=$1 name=$2
  shift 2
  log "N=$n plugin floor: $name"
  echo "plugin@$n $name $(FEDIVERSITY_BENCH_FLOOR=1 timed_tofu "$work/n$n/provider" "plugin-$name" "$@")" \
    "$(plan_figures "$work/n$n/provider/plugin-$name.out")" >>"$results"
}

# floor_phase N NAME OPEN TOFU_ARG...: one phase of the floor (OPEN as for
# scale_tfvars), timed as the provider's are.
floor_phase() {
  local n=$1 name=$2 open=$3
  shift 3
  log "N=$n floor: $name"
  scale_tfvars "$n" "$open" >"$work/n$n/floor/terraform.tfvars.json"
  echo "floor@$n $name $(timed_tofu "$work/n$n/floor" "$name" "$@")" >>"$results"
}

# fleet_phases RUN N: the no-op plan and apply, the change and the targeted
# change of the fleet of N, each through RUN (provider_phase or
# floor_phase), so that the provider and its floor run the very same phases.
fleet_phases() {
  local run=$1 n=$2
  "$run" "$n" plan "" plan -parallelism="$parallelism"
  "$run" "$n" noop "" apply -auto-approve -parallelism="$parallelism"
  "$run" "$n" change "$(scale_name 1)" apply -auto-approve -parallelism="$parallelism"
  "$run" "$n" target "$(scale_name 1) $(scale_name 2)" apply -auto-approve -parallelism="$parallelism" \
    -target="module.operator[\"$(scale_name 2)\"]"
}

# run_size N: a fresh fleet, the provider's phases, then the floors'.
run_size() {
  local n=$1
  log "N=$n: $hosts fresh sandbox hosts"
  fleet_up "$fleet_dir" "$hosts"
  prepare "$n"
  cp "$fleet" "$work/n$n/fleet.json"
  # A first apply that fails part-way (hours of work at N=1000) is applied
  # once more, reported as its own row, so that the other phases still run.
  provider_phase "$n" apply "" apply -auto-approve -parallelism="$parallelism" || {
    log "N=$n: the first apply failed (see $work/n$n/provider/apply.out); applying once more"
    provider_phase "$n" reapply "" apply -auto-approve -parallelism="$parallelism"
  }
  fleet_phases provider_phase "$n"
  panel_phase "$n" panel-add false apply -auto-approve
  panel_phase "$n" panel-plan false plan
  panel_phase "$n" panel-change true apply -auto-approve
  fleet_down "$fleet_dir"
  plugin_floor_phase "$n" plan plan -parallelism="$parallelism"
  plugin_floor_phase "$n" noop apply -auto-approve -parallelism="$parallelism"
  floor_phase "$n" apply "" apply -auto-approve -parallelism="$parallelism"
  fleet_phases floor_phase "$n"
}

# ratio A B: A / B to two places, "-" when either is unknown.
ratio() {
  if [ "$1" = - ] || [ "$2" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; fi
}

# row N PHASE TITLE [WHO]: one line of a size's table, of WHO's figures
# (provider, the default, or panel).
row() {
  local who="${4:-provider}@$1" floor plugin
  floor="$(field "floor@$1" "$2" wall)"
  plugin="$(field "plugin@$1" "$2" wall)"
  printf '%-14s %8s %8s %6s %8s %6s %5s/%-5s %5s/%-5s %4s %6s/%-4s %5s %7s %6s %3s/%-3s %5s\n' "$3" \
    "$(field "$who" "$2" wall)" "$floor" "$(ratio "$(field "$who" "$2" wall)" "$floor")" \
    "$plugin" "$(ratio "$(field "$who" "$2" wall)" "$plugin")" \
    "$(field "$who" "$2" builds_max)" "$(field "$who" "$2" builds)" \
    "$(field "$who" "$2" switches_max)" "$(field "$who" "$2" switches)" "$(field "$who" "$2" built_runtimes)" \
    "$(field "$who" "$2" commands)" "$(field "$who" "$2" host_commands)" "$(field "$who" "$2" uploads)" \
    "$(field "$who" "$2" peak_mib)" "$(field "$who" "$2" cpu_s)" "$(field "$who" "$2" dials_max)" "$(field "$who" "$2" dials)" \
    "$(field "$who" "$2" providers)"
}

size_table() {
  local n=$1
  echo
  echo "N=$n: $n operators x ${#bench_apps[@]} applications (${bench_apps[*]}), a container runtime each, on $hosts hosts; $((hosts + n * (2 + ${#bench_apps[@]}))) resources"
  printf '%-14s %8s %8s %6s %8s %6s %-11s %-11s %4s %-11s %5s %7s %6s %-7s %5s\n' phase "wall s" "floor s" ratio "plugin s" ratio "  builds" "  switches" "rts" "  commands" "" "peak" "CPU" " dials" ""
  printf '%-14s %8s %8s %6s %8s %6s %-11s %-11s %4s %-11s %5s %7s %6s %-7s %5s\n' "" "" "" "" "" "" "  max/total" "  max/total" "" " total/host" "upl" "MiB" "s" "max/all" "procs"
  row "$n" apply "first apply"
  [ "$(field "provider@$n" reapply wall)" = - ] || row "$n" reapply "failed; again"
  row "$n" plan "no-op plan"
  noop_check "$n" plan
  row "$n" noop "no-op apply"
  noop_check "$n" noop
  row "$n" change "change one"
  row "$n" target "change, -target"
  echo "one more operator, in a workspace of its own (examples/panel):"
  row "$n" panel-add "add" panel
  row "$n" panel-plan "no-op plan" panel
  noop_check "$n" panel-plan panel
  row "$n" panel-change "change" panel
}

# growth KEY PHASE: how a figure grows from the second size to the last
# (100 to 1000 by default), against the growth of N.
growth() {
  local first=${sizes[-2]} last=${sizes[-1]} a b
  a="$(field "$3@$first" "$2" "$1")"
  b="$(field "$3@$last" "$2" "$1")"
  printf '  %-28s %10s %10s %8s   (N x%s)\n' "$4" "$a" "$b" "$(ratio "$b" "$a")" "$((last / first))"
}

growth_table() {
  [ "${#sizes[@]}" -ge 2 ] || return 0
  echo
  echo "growth from N=${sizes[-2]} to N=${sizes[-1]}:"
  printf '  %-28s %10s %10s %8s\n' figure "N=${sizes[-2]}" "N=${sizes[-1]}" growth
  growth wall apply provider "first apply s"
  growth wall plan provider "no-op plan s"
  growth wall plan floor "floor no-op plan s"
  growth wall plan plugin "plugin floor no-op plan s"
  growth wall noop provider "no-op apply s"
  growth wall change provider "change one s"
  growth change_cost change provider "change one minus no-op s"
  growth wall target provider "change, -target s"
  growth wall change floor "floor change one s"
  growth wall panel-change panel "panel change s"
  growth commands plan provider "no-op plan commands"
  growth peak_mib plan provider "no-op plan peak MiB"
  growth peak_mib apply provider "first apply peak MiB"
}

# at_small WHO PHASE FIELD: WHO's figure at the smallest size, or "-" (not
# measured) when the run had one size, which nothing compares to.
at_small() {
  if [ "${#sizes[@]}" -gt 1 ]; then field "$1@${sizes[0]}" "$2" "$3"; else echo -; fi
}

targets() {
  local big=${sizes[-1]} small=${sizes[0]}
  echo
  echo "targets (from the issue; at N=$big unless said):"
  verdict "no-op plan at most 2x the floor" "$(field "provider@$big" plan wall) <= 2 * $(field "floor@$big" plan wall)"
  verdict "no-op apply at most 2x the floor" "$(field "provider@$big" noop wall) <= 2 * $(field "floor@$big" noop wall)"
  # Not the issue's: the same against the plugin floor, what the provider's
  # reads and logic add to OpenTofu's and the framework's cost.
  verdict "  no-op plan at most 2x the plugin floor" "$(field "provider@$big" plan wall) <= 2 * $(field "plugin@$big" plan wall)"
  verdict "no-op apply: zero builds, switches and uploads" \
    "$(field "provider@$big" noop builds) + $(field "provider@$big" noop switches) + $(field "provider@$big" noop uploads) == 0"
  verdict "changing one operator rebuilds only its runtime" \
    "$(field "provider@$big" change built_runtimes) == 1 && $(field "provider@$big" change builds_max) == 1 &&
     $(field "panel@$big" panel-change built_runtimes) == 1 && $(field "panel@$big" panel-change builds_max) == 1"
  echo "  changing one operator within 1.5x the same change at N=$small:"
  verdict "    in its own workspace, as examples/panel applies it" \
    "$(field "panel@$big" panel-change wall) <= 1.5 * $(at_small panel panel-change wall)"
  verdict "    in one state of the whole fleet" \
    "$(field "provider@$big" change wall) <= 1.5 * $(at_small provider change wall)"
  verdict "    the same, less the no-op apply of the fleet (OpenTofu's walk)" \
    "$(field "provider@$big" change change_cost) <= 1.5 * $(at_small provider change change_cost)"
  verdict "    the same, applied with -target on the operator's module" \
    "$(field "provider@$big" target wall) <= 1.5 * $(at_small provider target wall)"
  # Not the issue's: whether OpenTofu alone could, with no provider at all.
  verdict "    the floor's, in one state of the whole fleet" \
    "$(field "floor@$big" change wall) <= 1.5 * $(at_small floor change wall)"
  verdict "provider peak memory under 300 MiB" "$(field "provider@$big" apply peak_mib) < 300 && $(field "provider@$big" plan peak_mib) < 300"
  # The log does not tell provider processes apart: a host dialled more
  # often than OpenTofu started providers had more than one connection.
  verdict "one SSH connection per host per provider process" \
    "$(field "provider@$big" apply dials_max) <= $(field "provider@$big" apply providers) && $(field "provider@$big" plan dials_max) <= $(field "provider@$big" plan providers)"
}

# change_costs: for each size, the change's wall time less the no-op
# apply's, what the change itself cost beyond walking the fleet.
change_costs() {
  local n
  for n in "${sizes[@]}"; do
    echo "provider@$n change change_cost=$(awk -v a="$(field "provider@$n" change wall)" -v b="$(field "provider@$n" noop wall)" 'BEGIN { printf "%.2f", a - b }')" >>"$results"
  done
}

report() {
  change_costs
  echo
  machine
  echo "applications running: $running (false: declared but not started; the stand-ins do not run)"
  echo "OpenTofu -parallelism=$parallelism"
  local n
  for n in "${sizes[@]}"; do size_table "$n"; done
  echo
  echo "rts: runtimes built or switched; commands: remote commands (one SSH session each), host: those"
  echo "about a host rather than one runtime; upl: files written on hosts; peak: the largest VmHWM of the"
  echo "phase's provider processes (procs: how many OpenTofu started), CPU: the CPU time they used; dials: SSH connections opened,"
  echo "max to one host / in all; floor: the same configuration of terraform_data, no I/O; plugin: the same"
  echo "configuration and state with the provider serving its floor (same schemas, no reads, no logic)."
  growth_table
  targets
}

main() {
  log "set-up"
  "$repo/scripts/setup.sh" all
  build_sandbox
  # The panel's provider: this tree, installed as a panel installs it.
  "$repo/scripts/provider-mirror.sh" "$work/mirror"
  : >"$results"
  local n
  for n in "${sizes[@]}"; do run_size "$n"; done
  noop_failed=0
  report
  return "$noop_failed"
}

main
