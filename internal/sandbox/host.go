package sandbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
)

// Host is one sandbox host: a mount namespace with its own /nix, /var, /run,
// /tmp, /root and /etc, reachable over SSH as root.
type Host struct {
	Name    string `json:"name"`    // host1, host2, ...
	Address string `json:"address"` // 127.0.0.N
	Port    int    `json:"port"`    // 22
	// HostKeys are authorized_keys-format public keys, ed25519 first then RSA.
	HostKeys      []string `json:"host_keys"`
	ClientKeyPath string   `json:"client_key_path"`
	StateDir      string   `json:"state_dir"`
}

// readyTimeout bounds how long a host may take from launch to accepting
// SSH, including the build of its base system on the first boot.
const readyTimeout = 60 * time.Second

// start boots the host and waits until its sshd accepts connections. On
// failure nothing of the launch is left running and the error carries the
// end of the host's log.
func (h Host) start(ctx context.Context, clientPublicKey, standin string) error {
	if err := prepareHostDirs(h.StateDir); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	if err := writeHostConfig(h, clientPublicKey, standin); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	_ = os.Remove(filepath.Join(h.StateDir, sshdPidFile))
	r := newRecord(h)
	cmd, logFile, err := launchCommand(h, r.Instance)
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	defer logFile.Close()
	exited, err := mountns.Start(cmd, &r.Launch, r.save)
	if err != nil {
		return fmt.Errorf("%s: launch: %w", h.Name, err)
	}
	if err := h.awaitReady(ctx, &r, exited); err != nil {
		_ = r.kill()
		return fmt.Errorf("%s (%s:%d): %w\n%s", h.Name, h.Address, h.Port, err, h.logTail())
	}
	return nil
}

// awaitReady waits for the launch to enter its own mount namespace (then
// recorded) and for sshd to have bound its address and to answer with an
// SSH banner.
func (h Host) awaitReady(ctx context.Context, r *record, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := r.AwaitUnshared(ctx, exited, r.save); err != nil {
		return err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for h.sshdPID() != r.PID || !answersSSH(h.Address, h.Port) {
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited during start: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("not accepting SSH connections: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// sshdPID reads sshd's pid file, which it writes once its listener is bound:
// it tells our sshd from anything else that might answer on the address.
func (h Host) sshdPID() int {
	data, _ := os.ReadFile(filepath.Join(h.StateDir, sshdPidFile))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// answersSSH says whether an SSH server greets on the address.
func answersSSH(address string, port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(address, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// logTail returns the last lines of the host's log for error messages.
func (h Host) logTail() string {
	const lines = 20
	data, err := os.ReadFile(filepath.Join(h.StateDir, sshdLogFile))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "last lines of " + filepath.Join(h.StateDir, sshdLogFile) + ":\n" + strings.Join(all, "\n")
}

// shutdownScript stops the host's containers, then its own services, as a
// reboot does before the machine goes down. $1 is the stand-in program.
const shutdownScript = `standin=$1
for conf in /etc/nixos-containers/*.conf; do
  [ -e "$conf" ] || continue
  name=${conf##*/}
  "$standin" nixos-container stop "${name%.conf}"
done
"$standin" supervise shutdown
`

// shutdown stops the host's containers and services gracefully; what is
// left is ended by stop. A host without the stand-in has nothing to stop.
func (h Host) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_ = h.Exec(ctx, "/bin/sh", "-c", shutdownScript, "sh", "/etc/"+standinInEtc).Run()
}

// stop ends every process of the host; its state dir stays as it is.
func (h Host) stop() error {
	r, err := readRecord(h.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // never launched
	}
	if err != nil {
		return err
	}
	return r.kill()
}

// running says whether the host's sshd launch process is alive.
func (h Host) running() bool {
	r, err := readRecord(h.StateDir)
	return err == nil && r.LauncherAlive()
}

// Exec returns a command that runs inside the host's mount namespace, run
// from the machine (not over SSH): for tests that inspect a host. If the
// host is not running, the command fails to start with an error saying so.
func (h Host) Exec(ctx context.Context, args ...string) *exec.Cmd {
	pid, err := h.namespacePID()
	nsenterArgs := append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", pid), "--"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", nsenterArgs...)
	if err != nil {
		cmd.Err = err
	}
	return cmd
}

// namespacePID finds a live process inside the host's namespace.
func (h Host) namespacePID() (int, error) {
	r, err := readRecord(h.StateDir)
	if err != nil {
		return 0, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return r.MemberPID()
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Liveness describes in a few words whether the host runs, for status output.
func (h Host) Liveness() string {
	r, err := readRecord(h.StateDir)
	if err != nil {
		return "never started"
	}
	procs := r.processes()
	switch {
	case r.LauncherAlive() && netstat.Listening(h.Address, h.Port):
		return fmt.Sprintf("up (sshd pid %d, %d processes in %s and its containers)", r.PID, len(procs), r.MountNS)
	case r.LauncherAlive():
		return fmt.Sprintf("starting or stuck (pid %d not listening)", r.PID)
	case len(procs) > 0:
		return fmt.Sprintf("down, but %d processes are left in %s", len(procs), r.MountNS)
	default:
		return "down"
	}
}
