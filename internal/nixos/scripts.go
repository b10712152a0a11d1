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

// runnerScript sets the profile to a system, or back to its previous
// generation when toplevel is "--rollback", and switches to it, holding the
// profile's lock. Arguments: lock profile toplevel dir action lock_wait_seconds.
// It records the previous system, the switch's output and, last, its exit
// status in dir; a status file is the sign that the runner has finished.
const runnerScript = `
set -u
lock=$1 profile=$2 toplevel=$3 dir=$4 action=$5 wait=$6
finish() { printf '%s\n' "$1" >"$dir/status.tmp" && mv "$dir/status.tmp" "$dir/status"; exit 0; }
mkdir -p "$(dirname "$lock")" "$(dirname "$profile")"
exec 9>>"$lock"
if ! flock -w "$wait" 9; then
  cat "$lock.holder" >"$dir/holder" 2>/dev/null
  finish locked
fi
printf 'pid %s since %s\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$lock.holder"
readlink -f "$profile" >"$dir/previous" 2>/dev/null || : >"$dir/previous"
if [ "$toplevel" = --rollback ]; then
  nix-env -p "$profile" --rollback >"$dir/log" 2>&1 || finish 1
  toplevel=$(readlink -f "$profile")
else
  nix-env -p "$profile" --set "$toplevel" >"$dir/log" 2>&1 || finish 1
fi
"$toplevel/bin/switch-to-configuration" "$action" >>"$dir/log" 2>&1
finish $?
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
