package nixos

// Remote scripts. Each runs as `sh -c SCRIPT sh ARG...`: every value comes in
// as a positional parameter, so nothing is ever spliced into shell source.

// startScript launches runnerScript detached from the SSH session: under
// systemd-run where systemd runs (so that a dropped session or an sshd
// restart cannot kill a half-done switch, nixpkgs issue 39118), else in a
// new session with setsid. Arguments: the runner script, then the runner's
// own arguments.
const startScript = `
set -eu
runner=$1; shift
dir=$4
mkdir -p "$dir"
if command -v systemd-run >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  exec systemd-run --quiet --collect --service-type=exec \
    --unit="fediversity-activate-$(basename "$dir")" --setenv=PATH="$PATH" \
    /bin/sh -c "$runner" sh "$@"
fi
setsid -f /bin/sh -c "$runner" sh "$@" </dev/null >>"$dir/runner.log" 2>&1
`

// runnerScript brings a profile to a system while holding the profile's
// lock, and records what happened in dir. Arguments:
//
//	lock profile target dir action lock_wait_seconds container [entry fragments nixpkgs out_link repair]
//
// container names the NixOS container whose profile this is, or is empty
// for the host's own system: a container is created with its first system
// (nixos-container create --system-path), started when it is down, and
// reloaded (container@NAME) when it runs, which switches inside it; a
// container that is down is always started, even when nothing changed.
// target is a store path to switch to, "--rollback" to go back to the
// previous generation, or "--build" to build entry from the fragments
// first; a build whose fragments the running system already includes
// stops with status "unchanged" and touches nothing, unless repair is
// "yes": then the running system is switched to again (restarting what was
// stopped by hand), recorded by a "reswitch" file. A store path given with
// fragments (built elsewhere from them) is checked the same way, and
// refused with status "stale" when the fragments changed since. The runner records the
// previous system, the output and, last, a status file: "0" or the switch's
// exit status, "1" when the profile could not be set, "build-failed",
// "unchanged", "stale" or "locked". Every build and switch is also counted in
// /var/log/fediversity/activations.log, which tests read.
const runnerScript = `
set -u
lock=$1 profile=$2 target=$3 dir=$4 action=$5 wait=$6 container=$7
count=/var/log/fediversity/activations.log
finish() { printf '%s\n' "$1" >"$dir/status.tmp" && mv "$dir/status.tmp" "$dir/status"; exit 0; }
container_up() { [ "$(nixos-container status "$container" 2>/dev/null)" = up ]; }
# set_profile SYSTEM: a new container is created with it as its first generation.
set_profile() {
  if [ -n "$container" ] && [ ! -e "/etc/nixos-containers/$container.conf" ]; then
    nixos-container create "$container" --system-path "$1"
  else
    nix-env -p "$profile" --set "$1"
  fi
}
# activate SYSTEM: switch to it; 9>&-: daemons it starts must not inherit,
# and so hold, the lock.
activate() {
  echo "switch $profile $1" >>"$count"
  if [ -z "$container" ]; then
    "$1/bin/switch-to-configuration" "$action" 9>&- >>"$dir/log" 2>&1
  elif container_up; then
    systemctl reload "container@$container" 9>&- >>"$dir/log" 2>&1
  else
    nixos-container start "$container" 9>&- >>"$dir/log" 2>&1
  fi
}
` + digestFunction + `
# check_running: stop if the running system was built from the fragments,
# or with repair switch to it again. A container that is down is started.
check_running() {
  if [ -n "$container" ] && ! container_up; then repair=yes; fi
  [ "$(digest "$fragments")" = "$(cat "$profile/etc/fediversity/fragments.sha256" 2>/dev/null)" ] || return 0
  [ "$repair" = yes ] || finish unchanged
  target=$(readlink -e "$profile")
  : >"$dir/reswitch"
  printf '%s\n' "$target" >"$dir/system"
  activate "$target"
  finish $?
}
mkdir -p "$(dirname "$lock")" "$(dirname "$profile")" "$(dirname "$count")"
exec 9>>"$lock"
if ! flock -w "$wait" 9; then
  cat "$lock.holder" >"$dir/holder" 2>/dev/null
  finish locked
fi
printf 'pid %s since %s\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$lock.holder"
readlink -e "$profile" >"$dir/previous" 2>/dev/null || : >"$dir/previous"
: >"$dir/log"
case $target in
  --build)
    entry=$8 fragments=$9 nixpkgs=${10} outlink=${11} repair=${12:-}
    check_running
    set -- "$entry" --argstr fragments "$fragments" -o "$outlink"
    [ -n "$nixpkgs" ] && set -- "$@" -I "nixpkgs=$nixpkgs"
    echo "build $profile" >>"$count"
    nix-build "$@" 9>&- >>"$dir/log" 2>&1 || finish build-failed
    target=$(readlink -f "$outlink")
    set_profile "$target" 9>&- >>"$dir/log" 2>&1 || finish 1 ;;
  --rollback)
    nix-env -p "$profile" --rollback 9>&- >>"$dir/log" 2>&1 || finish 1
    target=$(readlink -f "$profile") ;;
  *)
    fragments=${9:-} repair=${12:-}
    if [ -n "$fragments" ]; then
      check_running
      [ "$(digest "$fragments")" = "$(cat "$target/etc/fediversity/fragments.sha256" 2>/dev/null)" ] || finish stale
    fi
    set_profile "$target" 9>&- >>"$dir/log" 2>&1 || finish 1 ;;
esac
printf '%s\n' "$target" >"$dir/system"
activate "$target"
finish $?
`

// digestFunction defines digest DIR: the sha256 over each *.json file's name
// and bytes in name order, exactly as the provider's fragments.nix computes
// it into etc/fediversity/fragments.sha256 of every system it builds.
const digestFunction = `digest() { for f in $(cd "$1" && ls | grep '\.json$' | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$1/$f"; printf '\n'; done | sha256sum | cut -d ' ' -f 1; }`

// runtimeFactsFunction defines runtime_facts PROFILE CONTAINERS RUNTIME_DIR
// FRAGMENTS_DIR, which prints what a refresh needs of one runtime: the
// running system and its generation link, and each fragment as the running
// system includes it (one line of JSON, as the provider writes them). A
// runtime dir with a container file is that NixOS container's: its
// profile and address, and it leaves the container's name in $container.
// It adds every fragment file, on disk and in the running system, to
// $files for hash_files, which hashes them all with one sha256sum after a
// "hashes:" line. A refresh of a fleet runs it for every runtime on a
// host, so it starts as few processes as it can: builtins read the files.
const runtimeFactsFunction = `
files=
runtime_facts() {
  profile=$1 runtime=$3 fragments=$4 container= system= address=
  [ -r "$runtime/` + containerMarker + `" ] && IFS= read -r container <"$runtime/` + containerMarker + `"
  if [ -n "$container" ]; then
    profile=$2/$container/system
    printf 'container=%s\n' "$container"
    # What nixos-container show-ip prints, read without starting it.
    [ -r "/etc/nixos-containers/$container.conf" ] && while IFS='=' read -r key value; do
      [ "$key" = LOCAL_ADDRESS ] && address=${value%%/*}
    done <"/etc/nixos-containers/$container.conf"
    printf 'address=%s\n' "$address"
  fi
  if cd -P "$profile" 2>/dev/null; then system=$PWD; cd /; fi
  printf 'system=%s\n' "$system"
  printf 'link=%s\n' "$(readlink "$profile" 2>/dev/null || true)"
  for f in "$fragments"/*.json; do [ -e "$f" ] && files="$files$f
"; done
  [ -n "$system" ] && for f in "$system"/etc/fediversity/fragments/*.json; do
    [ -e "$f" ] || continue
    files="$files$f
"
    c=
    IFS= read -r c <"$f" || true
    printf 'fragment %s %s\n' "${f##*/}" "$c"
  done
  return 0
}
hash_files() {
  echo hashes:
  [ -z "$files" ] || printf '%s' "$files" | xargs -d '\n' sha256sum --
}
`

// runtimeFactsScript prints the facts of one runtime. Arguments:
// system_profile containers_root runtime_dir fragments_dir.
const runtimeFactsScript = runtimeFactsFunction + `
set -u
runtime_facts "$@"
[ -z "$container" ] || printf 'status=%s\n' "$(nixos-container status "$container" 2>/dev/null || true)"
hash_files
exit 0
`

// hostRuntimesScript prints the facts of every runtime on a host, each
// after a "runtime=NAME" line, then the hashes of all their fragments.
// Whether their containers run is asked of systemctl once for all, in the
// order of the runtimes (systemctl prints one state a unit, "inactive" for
// one it does not know). Arguments: system_profile containers_root
// runtimes_root.
const hostRuntimesScript = runtimeFactsFunction + `
set -u
units=
for dir in "$3"/*; do
  c=
  [ -r "$dir/` + containerMarker + `" ] && IFS= read -r c <"$dir/` + containerMarker + `"
  [ -z "$c" ] || units="$units container@$c"
done
states=
[ -z "$units" ] || states=$(systemctl is-active $units 2>/dev/null)
exec 3<<STATES
$states
STATES
for dir in "$3"/*; do
  [ -d "$dir" ] || continue
  printf 'runtime=%s\n' "${dir##*/}"
  runtime_facts "$1" "$2" "$dir" "$dir/fragments"
  if [ -n "$container" ]; then
    state=
    IFS= read -r state <&3 || true
    if [ "$state" = active ]; then echo status=up; else echo status=down; fi
  fi
done
hash_files
exit 0
`

// deployedFragments prints each fragment a system was built from (in
// $system) as "deployed NAME BASE64" lines.
const deployedFragments = `for f in "$system"/etc/fediversity/fragments/*.json; do
  [ -e "$f" ] && printf 'deployed %s %s\n' "$(basename "$f")" "$(base64 -w 0 <"$f")"
done`

// systemFragmentsScript prints the fragments a system was built from.
// Arguments: system.
const systemFragmentsScript = `system=$1
` + deployedFragments + `
exit 0
`

// waitScript waits for a runner to finish and prints its status, the
// previous system and the tail of its log. Running it again after a lost
// connection picks up where it was. Arguments: dir timeout_seconds.
const waitScript = `
set -u
dir=$1 timeout=$2
end=$(( $(date +%s) + timeout ))
while [ ! -e "$dir/status" ]; do
  if [ "$(date +%s)" -ge "$end" ]; then echo "status=running"; exit 0; fi
  sleep 0.2
done
printf 'status=%s\n' "$(cat "$dir/status")"
printf 'previous=%s\n' "$(cat "$dir/previous" 2>/dev/null)"
printf 'holder=%s\n' "$(cat "$dir/holder" 2>/dev/null)"
printf 'system=%s\n' "$(cat "$dir/system" 2>/dev/null)"
[ -e "$dir/reswitch" ] && echo reswitch=yes
echo "log<<"
tail -n 40 "$dir/log" 2>/dev/null || true
`

// generationsScript lists a profile's generations as "N PATH" lines, the
// current one marked with a trailing "current". Arguments: profile.
const generationsScript = `
set -u
profile=$1
current=$(readlink "$profile" 2>/dev/null || true)
for link in "$profile"-*-link; do
  [ -L "$link" ] || continue
  n=${link#"$profile"-}; n=${n%-link}
  mark=""; [ "$(basename "$link")" = "$current" ] && mark=" current"
  printf '%s %s%s\n' "$n" "$(readlink -f "$link")" "$mark"
done
`

// pruneScript deletes all but the newest keep generations of a profile
// (Nix never deletes the current one) and all but the newest records of
// finished activations. Arguments: profile keep activations_dir records.
const pruneScript = `
nix-env -p "$1" --delete-generations "+$2" >/dev/null
cd "$3" 2>/dev/null || exit 0
ls -1t | tail -n "+$(( $4 + 1 ))" | while read -r old; do rm -rf -- "$old"; done
`
