# shellcheck shell=bash disable=SC2154 # repo, work, fleet, results: the caller's
# How both benchmarks (bench.sh, bench-scale.sh) measure a phase: builds and
# switches from the hosts' activation logs, remote commands and SSH dials
# from the provider's debug log, peak memory of the provider processes, and
# the result lines they keep in $results. Sourced, not run, with env.sh,
# fleet.sh and common.sh, which it sources; the caller sets $repo, $work
# (its work dir), $fleet (the fleet's JSON) and $results.

# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"
# shellcheck source=scripts/fleet.sh
source "$repo/scripts/fleet.sh"
# shellcheck source=scripts/bench/common.sh
source "$repo/scripts/bench/common.sh"

log() { printf '\n==> %s\n' "$*" >&2; }

# bench_cleanup runs however the script ends: the fleet (hosts, containers and
# all they run) is stopped, so nothing is left behind; its state (each
# host's store, over a GiB) and the logs go too unless asked to stay or
# needed to tell what failed. Only a dir that `up` marked as a fleet's is
# removed. The caller also sets $fleet_dir; BENCH_KEEP=1 (or $bench_keep,
# the caller's own setting) keeps everything; a bench_before_cleanup
# function, when the caller has one, runs first.
bench_cleanup() {
  local status=$?
  if declare -F bench_before_cleanup >/dev/null; then bench_before_cleanup; fi
  fleet_down "$fleet_dir" || status=1
  if [ "${bench_keep:-${BENCH_KEEP:-}}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "$(basename "$0" .sh): logs kept in $work, the hosts' state in $fleet_dir" >&2
  else
    rm -rf "$work"
    if [ -e "$fleet_dir/.fediversity-sandbox" ]; then rm -rf "$fleet_dir"; fi
  fi
  exit "$status"
}

# The commit the provider binary is built from: the tree as the benchmark
# starts, which the checkout may have moved past by the time it reports.
bench_provider_commit="$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"

# machine prints what the figures were measured on.
machine() {
  echo "machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r)"
  echo "versions: $(nix-build --version), OpenTofu $("$FEDIVERSITY_TOFU" version | sed -n '1s/^OpenTofu //p'), $(go version | cut -d ' ' -f 3), $(ssh -V 2>&1 | cut -d , -f 1)"
  echo "provider: $bench_provider_commit (the tree as the benchmark began)"
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

# command_events LOG NAME...: every remote command the provider logged, as
# "command RUNTIME", RUNTIME the first word of the command that is one of
# the runtimes' NAMEs, else "-" (about the host). A log entry spans lines
# (a script is logged line by line): each starts with its timestamp. Words
# are looked up, not matched one pattern per name, so that a thousand
# runtimes cost no more than ten.
command_events() {
  local log=$1
  shift
  printf '%s\n' "$@" | awk '
    FNR == NR { runtime[$0] = 1; next }
    function flush(  words, n, i, who) {
      if (entry ~ /SSH command starting/) {
        who = "-"
        n = split(entry, words, /[^a-z0-9-]+/)
        for (i = 1; i <= n; i++) if (words[i] in runtime) { who = words[i]; break }
        print "command", who
      }
      entry = ""
    }
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ { flush() }
    { entry = entry "\n" $0 }
    END { flush() }' - "$log"
}

# provider_pids ROOT: ROOT's child processes that run the provider (OpenTofu
# starts its plugins itself), from ROOT's own /proc entry: scanning every
# process of the machine four times a second (pgrep) cost more CPU than the
# provider when the machine ran thousands of container processes.
provider_pids() {
  local pid
  # shellcheck disable=SC2013 # the files hold pids separated by spaces
  for pid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
      # built here, or installed from a mirror (named with its version)
      */terraform-provider-fediversity | */terraform-provider-fediversity_v*) echo "$pid" ;;
    esac
  done
}

# watch_providers ROOT: until ROOT ends, every quarter of a second, the
# provider processes under it; then prints the largest peak resident
# memory (VmHWM) any had, the CPU seconds they used in all (as last seen)
# and how many there were. OpenTofu starts a provider process more than
# once per command, and each keeps its own connections and memory.
watch_providers() {
  local root=$1 peak=0 pid kb ticks
  local -A seen=()
  while kill -0 "$root" 2>/dev/null; do
    for pid in $(provider_pids "$root"); do
      kb="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" || continue
      ticks="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null)" || continue
      seen[$pid]=${ticks:-0}
      if [ "${kb:-0}" -gt "$peak" ]; then peak=$kb; fi
    done
    sleep 0.25
  done
  ticks=0
  for pid in "${!seen[@]}"; do ticks=$((ticks + seen[$pid])); done
  echo "peak_mib=$((peak / 1024)) cpu_s=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }') providers=${#seen[@]}"
}

# timed_tofu DIR NAME TOFU_ARG...: runs OpenTofu in DIR with the provider's
# debug log in DIR/NAME.log, and prints its wall time and the watch's
# figures. tofu runs in the background for the watch to know its pid; the
# watch ends once the wait has reaped it.
timed_tofu() {
  local dir=$1 name=$2 began tofu watch status=0
  shift 2
  began="$(now)"
  # The provider's own entries only: the framework's and the protocol's,
  # one per call for each resource, would cost more than they tell here.
  (cd "$dir" && TF_LOG_PROVIDER=DEBUG TF_LOG_SDK=OFF TF_LOG_SDK_FRAMEWORK=OFF TF_LOG_SDK_PROTO=OFF TF_LOG_PATH="$dir/$name.log" \
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

# field WHO PHASE KEY: one figure from the results ("-" when not measured).
field() {
  awk -v who="$1" -v phase="$2" -v key="$3" '
    $1 == who && $2 == phase { for (i = 3; i <= NF; i++) if (index($i, key "=") == 1) { print substr($i, length(key) + 2); found = 1 } }
    END { if (!found) print "-" }' "$results"
}

# verdict WHAT CONDITION...: whether the figures meet one of the issue's
# targets, CONDITION an awk expression of figures; "-" is one not measured.
verdict() {
  local what=$1
  shift
  if [[ " $* " == *" - "* ]]; then
    printf '  %-66s not measured\n' "$what"
  elif awk "BEGIN { exit !($*) }"; then
    printf '  %-66s met\n' "$what"
  else
    printf '  %-66s NOT met\n' "$what"
  fi
}
