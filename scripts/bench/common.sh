# shellcheck shell=bash
# What the benchmark deploys and how it reads a fleet, shared by bench.sh and
# baseline.sh so that both deploy exactly the same operators to the same
# hosts; sourced, not run.

# Each operator runs these applications, in a container runtime of its own.
# The columns are the defaults the provider fills in from its catalogue
# (internal/catalogue/catalogue.go): the baseline writes them itself, as a
# fragment carries them.
# shellcheck disable=SC2034 # used by the scripts that source this file
bench_apps=(mastodon pixelfed matrix)
# shellcheck disable=SC2034
declare -A app_subdomain=([mastodon]=social [pixelfed]=pixelfed [matrix]=matrix [peertube]=video [nextcloud]=cloud [immich]=photos)
# shellcheck disable=SC2034
declare -A app_version=([mastodon]=4.4.4 [pixelfed]=0.12.6 [matrix]=1.140.0 [peertube]=7.3.0 [nextcloud]=31.0.9 [immich]=1.142.1)
# shellcheck disable=SC2034
declare -A app_health=([mastodon]=/health [pixelfed]=/api/service/health-check [matrix]=/health
  [peertube]=/api/v1/config [nextcloud]=/status.php [immich]=/api/server/ping)

# The "add" phase adds one operator with three applications to the first
# operator's existing runtime: the other three kinds, as a runtime runs one
# instance of each kind.
# shellcheck disable=SC2034
guest_name=guest
# shellcheck disable=SC2034
guest_apps=(peertube nextcloud immich)

# op_name I: the I-th operator (from 1), also its runtime's and container's
# name (containers allow at most 11 characters).
op_name() { printf 'op%02d' "$1"; }

# op_names N: the first N operators' names, one a line.
op_names() {
  local i
  for ((i = 1; i <= $1; i++)); do op_name "$i"; echo; done
}

# op_host I HOSTS: the index (from 0) of the host of the I-th operator;
# operators go round the hosts so that each host gets as many.
op_host() { echo $(( ($1 - 1) % $2 )); }

# fleet_hosts FLEET_JSON FIELD: that field of every host, one a line, in
# host order; fleet_top FLEET_JSON FIELD: a field of the fleet itself. The
# file is the indented JSON `fediversity-sandbox up` prints (fleet fields
# two spaces in, host fields six); sed spares a JSON tool that a fresh
# machine lacks. fleet_host_keys FLEET_JSON: every host's first host key.
fleet_hosts() { sed -n "s/^      \"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1"; }
fleet_top() { sed -n "s/^  \"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" "$1"; }
fleet_host_keys() { sed -n '/^      "host_keys": \[$/{n;s/^        "\(.*\)",\{0,1\}$/\1/p;}' "$1"; }

# activations_log STATE_DIR: where a sandbox host's runner counts builds and
# switches (its /var/log/fediversity/activations.log), read from the
# machine so that reading it is no round trip to the host.
activations_log() { echo "$1/var/log/fediversity/activations.log"; }

# now: wall clock in seconds with microseconds, for phase timings.
now() { echo "$EPOCHREALTIME"; }

# summarise WHO PHASE WALL RUNTIMES: one result line from events on stdin,
# "KIND RUNTIME" each (KIND build, switch or command; RUNTIME "-" for a
# command that is about the host, not one runtime; built_runtimes counts
# the runtimes built or switched). Both sides of the
# benchmark report through it, so their figures mean the same.
summarise() {
  awk -v who="$1" -v phase="$2" -v wall="$3" -v runtimes="$4" '
    $2 == "-" { host[$1]++; next }
    { total[$1]++; if (++per[$1 " " $2] > max[$1]) max[$1] = per[$1 " " $2] }
    $1 != "command" && !(($2) in built) { built[$2] = 1; rebuilt++ }
    END {
      printf "%s %s wall=%.2f runtimes=%d", who, phase, wall - 0, runtimes
      split("build switch command", kinds, " ")
      split("builds switches commands", names, " ")
      for (i = 1; i <= 3; i++) {
        k = kinds[i]
        printf " %s=%d %s_max=%d", names[i], total[k] + host[k], names[i], max[k]
      }
      printf " host_commands=%d built_runtimes=%d\n", host["command"], rebuilt
    }'
}
