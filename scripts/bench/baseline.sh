#!/usr/bin/env bash
# The benchmark's baseline (scripts/bench.sh): NixOS deployed the way
# terraform-nixos and nixos-anywhere do it, one operator at a time by shell
# script. For each operator it writes the same fragments the provider
# writes, evaluates and builds the system with the provider's own modules on
# this machine (the deployer), copies its closure with nix-copy-closure over
# SSH, sets the container's profile and switches to it, then asks each
# application for its health.
#
#   baseline.sh FLEET_JSON WORK_DIR OPERATORS
#
# Phases, each printed as one line of figures on stdout (see summarise in
# common.sh): "apply" deploys OPERATORS operators, "noop" evaluates them
# all again and deploys what changed (nothing should), "add" adds one more
# operator with three applications to the first operator's runtime. Progress goes to stderr. WORK_DIR keeps the deployer's
# store and each runtime's fragments and logs; the caller brings the fleet
# up and down.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
source "$here/common.sh"

log() { printf 'baseline: %s\n' "$*" >&2; }

[ $# -eq 3 ] || { echo "usage: baseline.sh FLEET_JSON WORK_DIR OPERATORS" >&2; exit 2; }
fleet="$(realpath "$1")"
mkdir -p "$2"
work="$(realpath "$2")"
operators=$3

# The deployer's store is a fresh /nix of its own, in a private mount
# namespace that ends with this script: its builds start as cold as the
# provider's on fresh hosts, and the machine's /nix is left alone.
if [ "${BASELINE_STORE:-}" != "$work/deployer" ]; then
  rm -rf "$work/deployer" "$work/runtimes" "$work/events"
  mkdir -p "$work/deployer"
  exec env BASELINE_STORE="$work/deployer" unshare --mount --propagation private -- "$0" "$@"
fi
# -n: a private mount has no business in the machine's /run/mount/utab.
mount -n --bind "$work/deployer" /nix

# Nix as root without a daemon, build users or a binary cache, as on the
# sandbox hosts (nix.conf there).
export NIX_CONFIG="substituters =
sandbox = false
build-users-group =
experimental-features = nix-command"

mapfile -t addresses < <(fleet_hosts "$fleet" address)
mapfile -t state_dirs < <(fleet_hosts "$fleet" state_dir)
# The stand-in nixpkgs is the same on every host; the first one's will do.
nixpkgs="${state_dirs[0]}/nixpkgs"
standin="$(fleet_top "$fleet" standin_binary)"
entry="$repo/internal/modules/nixos/entry.nix"
ssh_opts=(-i "$(fleet_top "$fleet" client_key_path)" -o "UserKnownHostsFile=$fleet.known_hosts"
  -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR)
# nix-copy-closure splits NIX_SSHOPTS on spaces; the fleet's paths have none.
export NIX_SSHOPTS="${ssh_opts[*]}"

# count KIND RUNTIME: one build, switch or remote command (one SSH
# connection) of the current phase.
count() { echo "$phase $1 $2" >>"$work/events"; }

# remote RUNTIME ADDRESS SCRIPT ARG...: runs `sh -c SCRIPT sh ARG...` as root
# on the host, each word single-quoted for the remote shell.
remote() {
  local runtime=$1 address=$2 words=() w
  shift 2
  for w in sh -c "$1" sh "${@:2}"; do words+=("'${w//\'/\'\\\'\'}'"); done
  count command "$runtime"
  # shellcheck disable=SC2029 # quoted above, to expand on the host
  ssh "${ssh_opts[@]}" "root@$address" "${words[*]}"
}

# write_fragments I DIR: the I-th operator's fragments, byte for byte as
# the provider writes them (compact JSON, fields in the order of its Go
# models), for a container runtime of its own.
write_fragments() {
  local name
  name="$(op_name "$1")"
  mkdir -p "$2"
  printf '{"name":"%s","kind":"container","containerName":"%s","hostName":"%s","listenAddresses":[],"stateVersion":"24.11","nixpkgs":"","keepGenerations":5,"buildLocation":"target"}' \
    "$name" "$name" "$name" >"$2/runtime.json"
  write_operator "$name" "$2" "${bench_apps[@]}"
}

# write_operator NAME DIR KIND...: an operator's fragments and those of its
# applications.
write_operator() {
  local name=$1 dir=$2 kind
  shift 2
  printf '{"name":"%s","domain":"%s.example","contactEmail":"admin@%s.example"}' \
    "$name" "$name" "$name" >"$dir/operator-$name.json"
  for kind in "$@"; do
    printf '{"operator":"%s","kind":"%s","subdomain":"%s","version":"%s","settings":{"registrationsOpen":false,"userLimit":0}}' \
      "$name" "$kind" "${app_subdomain[$kind]}" "${app_version[$kind]}" >"$dir/application-$name-$kind.json"
  done
}

# instantiate DIR: evaluates the runtime's system from DIR/fragments and
# prints its derivation, as terraform-nixos does at every plan.
instantiate() {
  nix-instantiate "$entry" --argstr fragments "$1/fragments" \
    -I "nixpkgs=$nixpkgs" -I "fediversity-standin=$standin" 2>>"$1/build.log"
}

# The remote half of a switch (arguments: container, system): a new
# container is created and started; an existing one gets a new profile
# generation and is reloaded, which switches it.
# shellcheck disable=SC2016 # expands on the host
switch_script='set -eu
name=$1 system=$2
if [ -e "/etc/nixos-containers/$name.conf" ]; then
  nix-env -p "/nix/var/nix/profiles/per-container/$name/system" --set "$system"
  systemctl reload "container@$name"
else
  nixos-container create "$name" --system-path "$system"
  nixos-container start "$name"
fi'

# The remote health check (arguments: container, then domain and path per
# application): each must answer 200 within a minute, as the provider's
# gate requires.
# shellcheck disable=SC2016 # expands on the host
health_script='set -u
address=$(nixos-container show-ip "$1"); shift
end=$(( $(date +%s) + 60 ))
while [ $# -gt 0 ]; do
  if curl -fs -m 5 -o /dev/null -H "Host: $1" "http://$address$2"; then shift 2; continue; fi
  [ "$(date +%s)" -lt "$end" ] || { echo "$1$2 is not healthy on $address" >&2; exit 1; }
  sleep 1
done'

# deploy I: the whole deploy of the I-th operator's runtime, from the
# fragments written for it.
deploy() {
  local name dir address system kind checks=()
  name="$(op_name "$1")"
  dir="$work/runtimes/$name"
  address="${addresses[$(op_host "$1" "${#addresses[@]}")]}"
  [ -e "$dir/fragments/runtime.json" ] || write_fragments "$1" "$dir/fragments"
  instantiate "$dir" >"$dir/drv"
  count build "$name"
  system="$(nix-build "$(cat "$dir/drv")" -o "$dir/result" 2>>"$dir/build.log")"
  count command "$name"
  nix-copy-closure --to "root@$address" "$system" 2>>"$dir/build.log"
  count switch "$name"
  remote "$name" "$address" "$switch_script" "$name" "$system" >>"$dir/switch.log" 2>&1 ||
    { cat "$dir/switch.log" >&2; return 1; }
  for kind in "${bench_apps[@]}"; do
    checks+=("${app_subdomain[$kind]}.$name.example" "${app_health[$kind]}")
  done
  if [ -e "$dir/fragments/operator-$guest_name.json" ]; then
    for kind in "${guest_apps[@]}"; do
      checks+=("${app_subdomain[$kind]}.$guest_name.example" "${app_health[$kind]}")
    done
  fi
  remote "$name" "$address" "$health_script" "$name" "${checks[@]}"
  log "$name is up on $address"
}

# unchanged I: whether the I-th operator's system evaluates to the
# derivation deployed last, in which case terraform-nixos does nothing.
unchanged() {
  local dir
  dir="$work/runtimes/$(op_name "$1")"
  [ "$(instantiate "$dir")" = "$(cat "$dir/drv")" ]
}

# run_phase NAME RUNTIMES FUNCTION ARG...: times one phase and prints its
# figures.
run_phase() {
  local began
  phase=$1
  began="$(now)"
  "${@:3}"
  awk -v p="$phase" '$1 == p { print $2, $3 }' "$work/events" 2>/dev/null |
    summarise baseline "$phase" "$(awk -v a="$began" -v b="$(now)" 'BEGIN { print b - a }')" "$2"
}

deploy_all() { local i; for ((i = 1; i <= operators; i++)); do deploy "$i"; done; }
redeploy_changed() { local i; for ((i = 1; i <= operators; i++)); do unchanged "$i" || deploy "$i"; done; }
add_guest() {
  write_operator "$guest_name" "$work/runtimes/$(op_name 1)/fragments" "${guest_apps[@]}"
  deploy 1
}

: >"$work/events"
run_phase apply "$operators" deploy_all
run_phase noop "$operators" redeploy_changed
run_phase add "$operators" add_guest
