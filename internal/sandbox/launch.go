package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// bootScript runs as root inside the fresh private mount namespace and turns
// the machine's view into the host's: it is the host's "boot". It takes its
// paths as arguments ($1 state dir on the machine, $2 instance id, $3 host
// name) so that no value is ever spliced into shell source.
//
// The new /run is assembled under the state dir and then moved into place,
// with the state dir bound inside it, because later mounts (/tmp, /var, ...)
// may cover the state dir's own path on the machine. mount -n: libmount
// must not keep books in /run/mount/utab, neither the machine's (the first
// mounts happen while /run is still the machine's) nor one just moved away.
const bootScript = `set -eu
state=$1
instance=$2
name=$3
staging=$state/staging/run
mount -n -t tmpfs -o mode=0755 sandbox-run "$staging"
mkdir -p "$staging/fediversity-sandbox/state" "$staging/sshd"
chmod 0755 "$staging/sshd"
mount -n --bind "$state" "$staging/fediversity-sandbox/state"
printf '%s\n' "$instance" > "$staging/fediversity-sandbox/instance"
mount -n --move "$staging" /run
h=/run/fediversity-sandbox/state
mount -n --bind "$h/nix" /nix
mount -n --bind "$h/var" /var
mount -n --bind "$h/root" /root
mount -n -t tmpfs -o mode=1777 sandbox-tmp /tmp
# A per-host /etc: writes stay in the host. Relative overlay paths keep the
# state dir's name out of the mount option string.
cd "$h/etc"
mount -n -t overlay sandbox-etc -o lowerdir=/etc,upperdir=upper,workdir=work /etc
cd /
mkdir -p /etc/nix /etc/fediversity
touch /etc/nix/nix.conf
mount -n --bind "$h/nix.conf" /etc/nix/nix.conf
mount -n --bind "$h/etc-fediversity" /etc/fediversity
system=/nix/var/nix/profiles/system
# Like a fresh NixOS installation, a host with the stand-in program has a
# first system: built at its first boot in its own store.
base=$h/` + baseSystemFile + `
if [ ! -e "$system" ] && [ -e "$base" ]; then
  built=$(HOME=/root nix-build --no-out-link -I nixpkgs="$h/` + nixpkgsDir + `" --argstr hostName "$name" "$base")
  nix-env -p "$system" --set "$built"
fi
# Like NixOS at boot, activate the current system, if there is one.
if [ -x "$system/bin/switch-to-configuration" ]; then
  setsid -f "$system/bin/switch-to-configuration" switch </dev/null >>/var/log/fediversity-boot.log 2>&1
fi
exec /usr/sbin/sshd -D -e -f "$h/sshd_config"
`

// launchEnv is all the boot script and sshd get; the caller's environment
// (proxies, NIX_* overrides of a test) stays out of the host.
var launchEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}

// launchCommand is a host's namespace and sshd, in a new session so that
// they outlive the caller. The process keeps its pid through unshare, sh
// and sshd, since each execs the next. Output (boot errors, sshd's log)
// goes to the state dir's sshd.log, which the caller closes once started.
func launchCommand(h Host, instance string) (*exec.Cmd, *os.File, error) {
	logFile, err := os.OpenFile(filepath.Join(h.StateDir, sshdLogFile),
		os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", bootScript, "sh", h.StateDir, instance, h.Name)
	cmd.Env = launchEnv
	cmd.Dir = "/"
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd, logFile, nil
}
