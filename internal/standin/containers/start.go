package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
)

// bootScript runs inside the container's fresh mount namespace, a copy of
// its host's, and makes it the container's: its "boot". Arguments: $1 the
// container's root, $2 the instance id, $3 its profile directory. Paths
// under the root are reached relative to it, before /var, which holds it,
// is covered. mount -n: no books in /run/mount/utab (see package sandbox).
//
// The boot switch runs detached, as the host's does; its exit status is
// left in /run for Start to report. `sleep` then holds the namespace: the
// container runs until its processes are ended (Stop).
const bootScript = `set -eu
root=$1 instance=$2 profiles=$3
cd "$root"
mount -n -t tmpfs -o mode=0755 container-run /run
mkdir -p "$(dirname ` + instanceFile + `)"
printf '%s\n' "$instance" > ` + instanceFile + `
mount -n -t tmpfs -o mode=1777 container-tmp /tmp
mount -n --bind ` + rootHomeDir + ` /root
mount -n -t overlay container-etc -o lowerdir=/etc,upperdir=` + etcUpperDir + `,workdir=` + etcWorkDir + ` /etc
mount -n --bind "$profiles" /nix/var/nix/profiles
mount -n --bind ` + varDir + ` /var
cd /
system=` + systemProfile + `
if [ -x "$system/bin/switch-to-configuration" ]; then
  setsid -f /bin/sh -c '"$1/bin/switch-to-configuration" switch; echo $? > "$2"' sh "$system" ` + bootStatusFile + ` </dev/null
else
  echo "no system to activate in $system"
  echo no-system > ` + bootStatusFile + `
fi
exec sleep infinity
`

// launchEnv is all a container's boot gets, as a sandbox host's.
var launchEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}

// Timeouts of a start: entering the namespace, and its boot switch.
const (
	unshareTimeout = 30 * time.Second
	bootTimeout    = 2 * time.Minute
)

// Start starts the container and waits until its system is activated, as
// `nixos-container start NAME` (systemctl start container@NAME) does. A
// running container is left as it is. Units that fail to start are
// reported, as the boot of a NixOS container goes on past them.
func Start(ctx context.Context, name string, stderr io.Writer) error {
	c, cf, err := existing(name)
	if err != nil {
		return err
	}
	release, err := c.lock()
	if err != nil {
		return err
	}
	defer release()
	if c.running() {
		return nil
	}
	if err := c.stop(ctx); err != nil { // what a crashed start left
		return err
	}
	if err := c.prepareRoot(cf); err != nil {
		return err
	}
	l, err := c.launchBoot(ctx)
	if err != nil {
		return err
	}
	return c.reportBoot(ctx, l, stderr)
}

// launchBoot starts the boot script detached, in a mount namespace of its
// own, recorded before and after it is entered.
func (c container) launchBoot(ctx context.Context) (mountns.Launch, error) {
	l := mountns.Launch{Name: "container " + c.name, Instance: randomID(), InstanceFile: instanceFile}
	save := func() error { return mountns.WriteJSON(c.recordFile(), l) }
	cmd, logFile, err := c.bootCommand(l.Instance)
	if err != nil {
		return l, err
	}
	defer logFile.Close()
	exited, err := mountns.Start(cmd, &l, save)
	if err != nil {
		return l, fmt.Errorf("failed to start container: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, unshareTimeout)
	defer cancel()
	if err := l.AwaitUnshared(ctx, exited, save); err != nil {
		_ = mountns.Kill(l)
		return l, fmt.Errorf("failed to start container: %w\n%s", err, c.logTail())
	}
	return l, nil
}

func (c container) bootCommand(instance string) (*exec.Cmd, *os.File, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, err
	}
	logFile, err := os.OpenFile(c.logFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", bootScript, "sh", c.root(), instance, c.profileDir())
	cmd.Env = launchEnv
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd, logFile, nil
}

// reportBoot waits for the boot switch's exit status and reports anything
// but success.
func (c container) reportBoot(ctx context.Context, l mountns.Launch, stderr io.Writer) error {
	status, err := awaitBootStatus(ctx, l)
	if err != nil {
		return fmt.Errorf("container %s: %w\n%s", c.name, err, c.logTail())
	}
	if status != "0" {
		fmt.Fprintf(stderr, "warning: the activation of container %s ended with status %s (4: some units failed); see %s and its /var/log/fediversity\n",
			c.name, status, c.logFile())
	}
	return nil
}

// awaitBootStatus reads the boot switch's exit status from the container's
// /run, through /proc.
func awaitBootStatus(ctx context.Context, l mountns.Launch) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	path := fmt.Sprintf("/proc/%d/root%s", l.PID, bootStatusFile)
	for {
		if data, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(data), "\n") {
			return strings.TrimSpace(string(data)), nil
		}
		if !l.LauncherAlive() {
			return "", fmt.Errorf("the container ended during its boot")
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("its boot did not finish within %s", bootTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// logTail returns the end of the container's boot log, for errors.
func (c container) logTail() string {
	const lines = 15
	data, err := os.ReadFile(c.logFile())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "last lines of " + c.logFile() + ":\n" + strings.Join(all, "\n")
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
