package supervisor

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tempRoot is a short system root (Unix socket paths are limited to 108
// bytes), removed after the test.
func tempRoot(t *testing.T) Paths {
	t.Helper()
	dir, err := os.MkdirTemp("", "sv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return Paths{Root: dir}
}

// newSupervisor returns a supervisor whose units are all stopped when the
// test ends.
func newSupervisor(t *testing.T) (*Supervisor, Paths) {
	paths := tempRoot(t)
	s := New(paths)
	t.Cleanup(s.Shutdown)
	return s, paths
}

// shellUnit is a simple unit running a shell script.
func shellUnit(name, script string) Unit {
	return Unit{
		Name:  name,
		Type:  "simple",
		Start: []Command{{Argv: []string{"/bin/sh", "-c", script}}},
		Hash:  "hash-of-" + script,
	}
}

func statusOf(s *Supervisor, name string) UnitStatus {
	for _, u := range s.Status() {
		if u.Name == name {
			return u
		}
	}
	return UnitStatus{}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitState(t *testing.T, s *Supervisor, name, state string) UnitStatus {
	t.Helper()
	waitFor(t, 15*time.Second, name+" to be "+state, func() bool { return statusOf(s, name).State == state })
	return statusOf(s, name)
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	state, _, ok := procStateAndGroup(pid)
	return ok && state != "Z"
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, "pid file "+path, func() bool {
		data, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil && pid > 0
	})
	return pid
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func ownerOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
