# shellcheck shell=bash
# Sandbox fleets for the demo and the benchmark; sourced after env.sh, not run.
# A fleet in DIR is described in DIR.json (what `fediversity-sandbox up`
# prints) with its host keys in DIR.json.known_hosts, beside the dir rather
# than in it, because `up` resets the dir.
fleet_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sandbox_bin="$FEDIVERSITY_CACHE/bin/fediversity-sandbox"
standin_bin="$FEDIVERSITY_CACHE/bin/fediversity-standin"

# build_sandbox puts both programs in the cache: the hosts' stand-in NixOS
# copies fediversity-standin into each host's store.
build_sandbox() {
  mkdir -p "$(dirname "$sandbox_bin")"
  (cd "$fleet_repo" &&
    go build -o "$sandbox_bin" ./cmd/fediversity-sandbox &&
    go build -o "$standin_bin" ./cmd/fediversity-standin)
}

# fleet_up DIR HOSTS: a fresh fleet (any earlier one in DIR is stopped and
# its state removed), with its description and known_hosts beside DIR.
fleet_up() {
  local dir=$1 hosts=$2
  mkdir -p "$(dirname "$dir")"
  "$sandbox_bin" up --dir "$dir" --hosts "$hosts" --standin "$standin_bin" >"$dir.json"
  "$sandbox_bin" known-hosts --dir "$dir" >"$dir.json.known_hosts"
}

# fleet_down DIR: stops every host; safe when nothing was ever brought up.
fleet_down() {
  local dir=$1
  if [ -x "$sandbox_bin" ]; then "$sandbox_bin" down --dir "$dir"; fi
  rm -f "$dir.json" "$dir.json.known_hosts"
}
