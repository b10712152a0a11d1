#!/usr/bin/env bash
# `make bench-migrate`: how fast a migration moves state. On two sandbox
# hosts of its own it makes BENCH_MIGRATE_MIB MiB of state on the first
# (default 1024: half one big file, half files of 32 KiB in 16 dirs), then
# copies it to the second, BENCH_MIGRATE_ROUNDS times (default 2) in turn:
# by a raw `ssh host1 tar -c | ssh host2 tar -x` piped through this
# machine, and by migrate.CopyTree (TestBenchmarkCopyTree), through this
# process. It prints MiB/s of both, their ratio, and the copying process's
# peak memory; it asserts nothing: performance is never a pass or fail here.
# BENCH_MIGRATE_KEEP=1 keeps the work dir with the test's log.
# shellcheck disable=SC2016 # the scripts in single quotes expand on the hosts
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/bench/measure.sh
source "$repo/scripts/bench/measure.sh"

size_mib="${BENCH_MIGRATE_MIB:-1024}"
rounds="${BENCH_MIGRATE_ROUNDS:-2}"
fleet_dir="${FEDIVERSITY_BENCH_DIR:-/var/lib/fediversity-sandbox/bench-migrate}"
fleet="$fleet_dir.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/fediversity-bench-migrate.XXXXXX")"
state=/var/lib/bench-migrate/state # on the hosts
addresses=()
ssh_opts=()

bench_keep="${BENCH_MIGRATE_KEEP:-}"

# bench_before_cleanup closes the SSH connections held open for the raw
# copy before the fleet stops (see bench_cleanup in measure.sh).
bench_before_cleanup() {
  local address
  for address in "${addresses[@]}"; do ssh "${ssh_opts[@]}" -O exit "root@$address" 2>/dev/null || true; done
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# connect: one SSH connection per host, opened before any timing, as the
# provider's pool holds one: the raw copy pays for no handshake either.
connect() {
  mapfile -t addresses < <(fleet_hosts "$fleet" address)
  ssh_opts=(-i "$(fleet_top "$fleet" client_key_path)" -o "UserKnownHostsFile=$fleet.known_hosts"
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR
    -o ControlMaster=auto -o "ControlPath=$work/ssh-%C" -o ControlPersist=600)
  on 1 true
  on 2 true
}

# on N SCRIPT ARG...: runs `sh -c SCRIPT sh ARG...` as root on the N-th
# host (from 1), each word single-quoted for the remote shell; stdin and
# stdout are the host command's.
on() {
  local address=${addresses[$1 - 1]} words=() w
  shift
  for w in sh -c "$1" sh "${@:2}"; do words+=("'${w//\'/\'\\\'\'}'"); done
  # shellcheck disable=SC2029 # quoted above, to expand on the host
  ssh "${ssh_opts[@]}" "root@$address" "${words[*]}"
}

# make_state: the state to move, on host 1, from /dev/urandom so that
# nothing on the way can compress it.
make_state() {
  log "making $size_mib MiB of state on host 1"
  on 1 'set -eu
state=$1 mib=$2
rm -rf "$state" && mkdir -p "$state" && cd "$state"
head -c "$((mib / 2))M" /dev/urandom >big
for d in $(seq -w 1 16); do
  mkdir "d$d"
  head -c "$(((mib - mib / 2) * 1024 / 16))K" /dev/urandom | (cd "d$d" && split -b 32K -a 4 - part-)
done
chown -R nobody:nogroup d01' "$state" "$size_mib"
  data_bytes="$(on 1 'find "$1" -type f -printf "%s\n" | awk "{ n += \$1 } END { print n }"' "$state")"
  files="$(on 1 'find "$1" -type f | wc -l' "$state")"
}

# fresh_target DIR: removes an earlier copy on host 2 and lets both hosts'
# writes settle, so that no round pays for the one before.
fresh_target() {
  on 2 'rm -rf "$1"' "$1"
  sync
}

mib_per_s() { awk -v b="$data_bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }

# raw_copy: the baseline, timed; prints its seconds.
raw_copy() {
  local began
  fresh_target "$state-raw"
  began="$(now)"
  on 1 'exec tar -C "$1" -cf - .' "$state" | on 2 'mkdir -p "$1" && exec tar -C "$1" -xf -' "$state-raw"
  awk -v a="$began" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

# copytree_copy ROUND: migrate.CopyTree in the test binary, which times
# itself; its figures go to $work/copytree-ROUND.log.
copytree_copy() {
  fresh_target "$state-copy"
  TF_ACC=1 FEDIVERSITY_ACC_FLEET="$fleet" FEDIVERSITY_BENCH_MIGRATE="$state" \
    "$work/migrate.test" -test.run '^TestBenchmarkCopyTree$' -test.v -test.count=1 >"$work/copytree-$1.log" 2>&1 ||
    { tail -n 40 "$work/copytree-$1.log" >&2; return 1; }
}

# figure ROUND KEY: one key=value figure the test printed.
figure() {
  sed -n "s/.*bench-migrate .* $2=\([^ ]*\).*/\1/p" "$work/copytree-$1.log" | head -n 1
}

main() {
  log "set-up"
  "$repo/scripts/setup.sh" packages
  build_sandbox
  (cd "$repo" && go test -c -o "$work/migrate.test" ./internal/migrate)
  fleet_up "$fleet_dir" 2
  connect
  make_state

  echo
  echo "machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, Linux $(uname -r), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
  echo "versions: $(go version | cut -d ' ' -f 3), $(ssh -V 2>&1 | cut -d , -f 1), $(tar --version | head -n 1)"
  echo "provider: $bench_provider_commit (the tree as the benchmark began)"
  echo "state: $((data_bytes / 1048576)) MiB in $files files on host 1 (one of $((size_mib / 2)) MiB, the rest of 32 KiB)"
  echo
  printf '%-6s %-22s %9s %9s  %s\n' round copy seconds "MiB/s" "peak memory of the copying process"
  local best_raw=0 best_tree=0 i s rate
  for ((i = 1; i <= rounds; i++)); do
    s="$(raw_copy)"
    rate="$(mib_per_s "$s")"
    best_raw="$(awk -v a="$best_raw" -v b="$rate" 'BEGIN { print (b > a ? b : a) }')"
    printf '%-6s %-22s %9s %9s  %s\n' "$i" "raw tar | ssh | tar" "$s" "$rate" "-"
    copytree_copy "$i"
    s="$(figure "$i" seconds)"
    rate="$(mib_per_s "$s")"
    best_tree="$(awk -v a="$best_tree" -v b="$rate" 'BEGIN { print (b > a ? b : a) }')"
    printf '%-6s %-22s %9s %9s  %s\n' "$i" "migrate.CopyTree" "$s" "$rate" \
      "RSS $(($(figure "$i" peak_rss_kib) / 1024)) MiB; live heap +$(figure "$i" live_heap_growth_kib) KiB, from the OS +$(figure "$i" os_memory_growth_kib) KiB"
  done
  echo
  echo "best: raw $best_raw MiB/s, CopyTree $best_tree MiB/s, ratio $(awk -v a="$best_tree" -v b="$best_raw" 'BEGIN { printf "%.2f", a / b }')"
  echo "verify after the last copy (a manifest on each host, sha256 of every file): $(sed -n 's/.*bench-migrate verify .*seconds=\([^ ]*\).*/\1/p' "$work/copytree-$rounds.log") s"
  echo
  echo "target (from the issue):"
  if awk -v a="$best_tree" -v b="$best_raw" 'BEGIN { exit !(a >= 0.8 * b) }'; then
    echo "  CopyTree at least 0.8 of the raw throughput                     met"
  else
    echo "  CopyTree at least 0.8 of the raw throughput                     NOT met"
  fi
}

main
