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
//	lock profile target dir action lock_wait_seconds [entry fragments nixpkgs out_link repair]
//
// target is a store path to switch to, "--rollback" to go back to the
// previous generation, or "--build" to build entry from the fragments
// first; a build whose fragments the running system already includes
// stops with status "unchanged" and touches nothing, unless repair is
// "yes": then the running system is switched to again (restarting what was
// stopped by hand), recorded by a "reswitch" file. The runner records the
// previous system, the output and, last, a status file: "0" or the switch's
// exit status, "1" when the profile could not be set, "build-failed",
// "unchanged" or "locked". Every build and switch is also counted in
// /var/log/fediversity/activations.log, which tests read.
const runnerScript = `
set -u
lock=$1 profile=$2 target=$3 dir=$4 action=$5 wait=$6
count=/var/log/fediversity/activations.log
finish() { printf '%s\n' "$1" >"$dir/status.tmp" && mv "$dir/status.tmp" "$dir/status"; exit 0; }
` + digestFunction + `
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
    entry=$7 fragments=$8 nixpkgs=$9 outlink=${10} repair=${11:-}
    if [ "$(digest "$fragments")" = "$(cat "$profile/etc/fediversity/fragments.sha256" 2>/dev/null)" ]; then
      [ "$repair" = yes ] || finish unchanged
      target=$(readlink -e "$profile")
      : >"$dir/reswitch"
      printf '%s\n' "$target" >"$dir/system"
      echo "switch $profile $target" >>"$count"
      "$target/bin/switch-to-configuration" "$action" 9>&- >>"$dir/log" 2>&1
      finish $?
    fi
    set -- "$entry" --argstr fragments "$fragments" -o "$outlink"
    [ -n "$nixpkgs" ] && set -- "$@" -I "nixpkgs=$nixpkgs"
    echo "build $profile" >>"$count"
    nix-build "$@" 9>&- >>"$dir/log" 2>&1 || finish build-failed
    target=$(readlink -f "$outlink")
    nix-env -p "$profile" --set "$target" 9>&- >>"$dir/log" 2>&1 || finish 1 ;;
  --rollback)
    nix-env -p "$profile" --rollback 9>&- >>"$dir/log" 2>&1 || finish 1
    target=$(readlink -f "$profile") ;;
  *)
    nix-env -p "$profile" --set "$target" 9>&- >>"$dir/log" 2>&1 || finish 1 ;;
esac
printf '%s\n' "$target" >"$dir/system"
echo "switch $profile $target" >>"$count"
# 9>&-: daemons the switch starts must not inherit, and so hold, the lock.
"$target/bin/switch-to-configuration" "$action" 9>&- >>"$dir/log" 2>&1
finish $?
`

// digestFunction defines digest DIR: the sha256 over each *.json file's name
// and bytes in name order, exactly as the provider's fragments.nix computes
// it into etc/fediversity/fragments.sha256 of every system it builds.
const digestFunction = `digest() { for f in $(cd "$1" && ls | grep '\.json$' | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$1/$f"; printf '\n'; done | sha256sum | cut -d ' ' -f 1; }`

// runtimeFactsScript prints what a refresh needs of a runtime in one call:
// the running system and its generation, the digests of the fragments it
// was built from and of those on disk, each fragment's hash on disk, and
// each fragment as the running system includes it (base64).
// Arguments: profile fragments_dir.
const runtimeFactsScript = digestFunction + `
set -u
profile=$1 fragments=$2
system=$(readlink -f "$profile" 2>/dev/null || true)
printf 'system=%s\n' "$system"
printf 'link=%s\n' "$(readlink "$profile" 2>/dev/null || true)"
printf 'system_digest=%s\n' "$(cat "$system/etc/fediversity/fragments.sha256" 2>/dev/null || true)"
[ -d "$fragments" ] && printf 'disk_digest=%s\n' "$(digest "$fragments")"
for f in "$fragments"/*.json; do
  [ -e "$f" ] && printf 'disk %s %s\n' "$(basename "$f")" "$(sha256sum <"$f" | cut -d ' ' -f 1)"
done
` + deployedFragments + `
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
