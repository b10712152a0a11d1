package activate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// supervisorStartTimeout bounds how long a fresh daemon may take to answer.
const supervisorStartTimeout = 10 * time.Second

// ensureSupervisor returns a client of the system's supervisor, starting
// the daemon first when none answers (the first switch of a fresh host).
// The daemon is this program in its supervise role, detached: its own
// session, stdio to its log, so it outlives the switch and the SSH
// session that ran it.
func (s *switcher) ensureSupervisor(ctx context.Context) (supervisor.Client, error) {
	client := supervisor.NewClient(s.paths)
	if client.Running() {
		return client, nil
	}
	exited, err := s.startDaemon()
	if err != nil {
		return client, err
	}
	deadline := time.Now().Add(supervisorStartTimeout)
	for !client.Running() {
		select {
		case <-exited:
			return client, fmt.Errorf("the supervisor exited at start; see %s:\n%s", s.paths.DaemonLog(), tail(s.paths.DaemonLog(), 10))
		case <-ctx.Done():
			return client, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return client, fmt.Errorf("the supervisor did not answer within %s; see %s", supervisorStartTimeout, s.paths.DaemonLog())
		}
	}
	fmt.Fprintf(s.stderr, "started the supervisor (log %s)\n", s.paths.DaemonLog())
	return client, nil
}

func (s *switcher) startDaemon() (<-chan struct{}, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.paths.LogDir(), 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(s.paths.DaemonLog(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	args := []string{"supervise", "run"}
	if s.paths.Root != "" {
		args = append(args, "--root", s.paths.Root)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the supervisor: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return exited, nil
}
