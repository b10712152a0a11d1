package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launch is what every process of a unit is started with.
type launch struct {
	id  identity
	env []string
	dir string
	log *os.File
}

// spawn starts one command of a unit in its own session (so its own
// process group, which stop signals as a whole) as the unit's user.
func spawn(c Command, l launch) (*exec.Cmd, error) {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = l.env
	cmd.Dir = l.dir
	cmd.Stdin = nil
	cmd.Stdout = l.log
	cmd.Stderr = l.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if !c.Privileged && l.id.cred != nil {
		cmd.SysProcAttr.Credential = l.id.cred
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// describeExit says how a process ended, for status and logs.
func describeExit(err error) (text string, code int) {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "exited with status 0", 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + signalName(ws.Signal()), 128 + int(ws.Signal())
		}
		return fmt.Sprintf("exited with status %d", exit.ExitCode()), exit.ExitCode()
	default:
		return err.Error(), -1
	}
}

// terminate stops a process group as systemd stops a unit's control group:
// the kill signal to all of it, SIGKILL to what is left after the timeout.
// exited is closed when the main process has been reaped.
func terminate(pgid int, sig syscall.Signal, timeout time.Duration, exited <-chan struct{}) {
	deadline := time.Now().Add(timeout)
	_ = syscall.Kill(-pgid, sig)
	if sig != syscall.SIGKILL {
		_ = syscall.Kill(-pgid, syscall.SIGCONT) // stopped processes cannot act on it
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-exited:
		if waitGroupGone(pgid, time.Until(deadline)) {
			return
		}
	case <-timer.C:
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-exited
	waitGroupGone(pgid, 5*time.Second)
}

// killLeftovers ends what a unit's main process left running in its group
// when the unit becomes inactive (KillMode=control-group).
func killLeftovers(pgid int) {
	if groupAlive(pgid) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		waitGroupGone(pgid, 5*time.Second)
	}
}

func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// groupAlive says whether any live (not zombie) process is in the group.
// Zombies count as gone: whether they are reaped is up to their parent.
func groupAlive(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, group, ok := procStateAndGroup(pid)
		if ok && group == pgid && state != "Z" && state != "X" {
			return true
		}
	}
	return false
}

// procStateAndGroup reads fields 3 (state) and 5 (pgrp) of /proc/PID/stat;
// the command name (field 2) may contain spaces, so split after its ")".
func procStateAndGroup(pid int) (string, int, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 3 {
		return "", 0, false
	}
	group, err := strconv.Atoi(fields[2])
	return fields[0], group, err == nil
}

var signalsByName = map[string]syscall.Signal{
	"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGKILL": syscall.SIGKILL, "SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2, "SIGWINCH": syscall.SIGWINCH,
}

// parseSignal reads KillSignal= ("SIGINT", "INT", "2"); SIGTERM by default.
func parseSignal(s string) syscall.Signal {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n)
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig, ok := signalsByName[s]; ok {
		return sig
	}
	return syscall.SIGTERM
}

func signalName(sig syscall.Signal) string {
	for name, s := range signalsByName {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}
