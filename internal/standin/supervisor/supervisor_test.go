package supervisor

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartRunsUnitWithItsEnvironmentDirectoriesAndLog(t *testing.T) {
	s, paths := newSupervisor(t)
	work := t.TempDir()
	envFile := filepath.Join(work, "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=\"file value\"\nFOO=overridden\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := shellUnit("demo", `echo "foo=$FOO file=$FROM_FILE pwd=$PWD state=$STATE_DIRECTORY"; exec sleep 60`)
	u.Environment = map[string]string{"FOO": "bar"}
	u.EnvironmentFiles = []string{envFile, "-/does/not/exist"}
	u.WorkingDirectory = work
	u.StateDirectories = []string{"demo"}
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, "demo", StateActive)
	if !alive(st.PID) || st.Hash != u.Hash {
		t.Fatalf("status %+v: want a live pid and the unit's hash", st)
	}
	stateDir := paths.Join("/var/lib/demo")
	want := "foo=overridden file=file value pwd=" + work + " state=" + stateDir
	waitFor(t, 5*time.Second, "the unit's output in its log", func() bool {
		data, _ := os.ReadFile(paths.UnitLog("demo"))
		return strings.Contains(string(data), want)
	})
	if fi, err := os.Stat(stateDir); err != nil || !fi.IsDir() {
		t.Fatalf("StateDirectory not created: %v", err)
	}
	if err := s.Stop("demo", false); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(s, "demo"); st.State != StateInactive || alive(st.PID) {
		t.Fatalf("after stop: %+v", st)
	}
}

func TestStartingTheSameDefinitionAgainKeepsTheProcess(t *testing.T) {
	s, _ := newSupervisor(t)
	u := shellUnit("same", "exec sleep 60")
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	first := waitState(t, s, "same", StateActive)
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	if again := statusOf(s, "same"); again.PID != first.PID {
		t.Fatalf("same definition restarted the unit: pid %d -> %d", first.PID, again.PID)
	}
	changed := u
	changed.Hash = "another definition"
	if err := s.Start(changed); err != nil {
		t.Fatal(err)
	}
	next := waitState(t, s, "same", StateActive)
	if next.PID == first.PID || alive(first.PID) {
		t.Fatalf("a new definition must replace the process: old %d (alive %v), new %d", first.PID, alive(first.PID), next.PID)
	}
}

func TestStopKillsTheWholeProcessGroup(t *testing.T) {
	s, _ := newSupervisor(t)
	dir := t.TempDir()
	child := filepath.Join(dir, "child")
	u := shellUnit("family", "sleep 60 & echo $! > "+child+"; wait")
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	main := waitState(t, s, "family", StateActive).PID
	grandchild := readPID(t, child)
	if err := s.Stop("family", false); err != nil {
		t.Fatal(err)
	}
	if alive(main) || alive(grandchild) {
		t.Fatalf("after stop: main alive %v, its child alive %v", alive(main), alive(grandchild))
	}
}

func TestStopEscalatesToSIGKILLAfterTheTimeout(t *testing.T) {
	s, _ := newSupervisor(t)
	ready := filepath.Join(t.TempDir(), "ready")
	u := shellUnit("stubborn", "trap '' TERM; touch "+ready+"; while :; do sleep 0.1; done")
	u.TimeoutStopSec = "500ms"
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	pid := waitState(t, s, "stubborn", StateActive).PID
	waitFor(t, 5*time.Second, "the trap", func() bool { _, err := os.Stat(ready); return err == nil })
	began := time.Now()
	if err := s.Stop("stubborn", false); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 400*time.Millisecond || took > 10*time.Second {
		t.Errorf("stop took %s; want the 500ms timeout then SIGKILL", took)
	}
	if alive(pid) {
		t.Fatal("a unit ignoring SIGTERM survived stop")
	}
}

func TestKillSignalIsUsedToStop(t *testing.T) {
	s, _ := newSupervisor(t)
	dir := t.TempDir()
	marker, ready := filepath.Join(dir, "got-int"), filepath.Join(dir, "ready")
	u := shellUnit("int", "trap 'echo int > "+marker+"; exit 0' INT; touch "+ready+"; while :; do sleep 0.1; done")
	u.KillSignal = "SIGINT"
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "int", StateActive)
	waitFor(t, 5*time.Second, "the trap", func() bool { _, err := os.Stat(ready); return err == nil })
	if err := s.Stop("int", false); err != nil {
		t.Fatal(err)
	}
	if readFile(t, marker) != "int\n" {
		t.Fatal("the unit did not get its KillSignal")
	}
}

func TestCrashLoopEndsFailedAtTheStartLimit(t *testing.T) {
	s, paths := newSupervisor(t)
	u := shellUnit("crash", "echo crashing; exit 3")
	u.Restart = "always"
	u.RestartSec = "20ms"
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, s, "crash", StateFailed)
	// As systemd's StartLimitBurst=5: five starts, the sixth is refused.
	if st.Result != "start-limit-hit" || st.Restarts != 4 || st.LastExit != "exited with status 3" {
		t.Fatalf("status %+v: want start-limit-hit after 4 restarts, last exit status 3", st)
	}
	if n := strings.Count(readFile(t, paths.UnitLog("crash")), "crashing\n"); n != 5 {
		t.Errorf("the unit ran %d times, want 5:\n%s", n, readFile(t, paths.UnitLog("crash")))
	}
}

func TestRestartOnFailureRecovers(t *testing.T) {
	s, _ := newSupervisor(t)
	marker := filepath.Join(t.TempDir(), "failed-once")
	u := shellUnit("flaky", "if ! test -e "+marker+"; then touch "+marker+"; exit 1; fi; exec sleep 60")
	u.Restart = "on-failure"
	u.RestartSec = "10ms"
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a restart", func() bool { return statusOf(s, "flaky").Restarts == 1 })
	if st := waitState(t, s, "flaky", StateActive); !alive(st.PID) {
		t.Fatalf("%+v", st)
	}
}

func TestMainProcessExitingWithoutRestartPolicy(t *testing.T) {
	s, _ := newSupervisor(t)
	if err := s.Start(shellUnit("clean", "exit 0")); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(shellUnit("dirty", "exit 7")); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "clean", StateInactive)
	if st := waitState(t, s, "dirty", StateFailed); st.Result != "exit-code" || st.LastExit != "exited with status 7" {
		t.Fatalf("%+v", st)
	}
}

func oneshot(name string, scripts ...string) Unit {
	u := Unit{Name: name, Type: "oneshot", Hash: name}
	for _, s := range scripts {
		u.Start = append(u.Start, Command{Argv: []string{"/bin/sh", "-c", s}})
	}
	return u
}

func TestOneshots(t *testing.T) {
	s, _ := newSupervisor(t)
	dir := t.TempDir()
	remains := oneshot("remains", "touch "+dir+"/a", "touch "+dir+"/b")
	remains.RemainAfterExit = true
	finishes := oneshot("finishes", "true")
	failing := oneshot("failing", "exit 2", "touch "+dir+"/not-reached")
	badPre := oneshot("bad-pre", "touch "+dir+"/not-reached-either")
	badPre.StartPre = []Command{{Argv: []string{"/bin/false"}}}
	ignored := oneshot("ignored", "touch "+dir+"/reached")
	ignored.StartPre = []Command{{Argv: []string{"/bin/false"}, IgnoreFailure: true}}
	for _, u := range []Unit{remains, finishes, failing, badPre, ignored} {
		if err := s.Start(u); err != nil {
			t.Fatal(err)
		}
	}
	if st := waitState(t, s, "remains", StateActive); st.PID != 0 {
		t.Errorf("a remaining oneshot has no process, got pid %d", st.PID)
	}
	waitState(t, s, "finishes", StateInactive)
	waitState(t, s, "failing", StateFailed)
	waitState(t, s, "bad-pre", StateFailed)
	waitState(t, s, "ignored", StateInactive)
	for file, want := range map[string]bool{"a": true, "b": true, "not-reached": false, "not-reached-either": false, "reached": true} {
		if _, err := os.Stat(filepath.Join(dir, file)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", file, err == nil, want)
		}
	}
}

func TestRuntimeDirectoryGoesWithTheUnit(t *testing.T) {
	s, paths := newSupervisor(t)
	u := shellUnit("rt", "exec sleep 60")
	u.RuntimeDirectories = []string{"rt"}
	u.RuntimeDirectoryMode = "0750"
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "rt", StateActive)
	dir := paths.Join("/run/rt")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("runtime directory: %v %v", fi, err)
	}
	if err := s.Stop("rt", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("runtime directory left after stop: %v", err)
	}
}

func TestRestartReplacesTheProcess(t *testing.T) {
	s, _ := newSupervisor(t)
	if err := s.Start(shellUnit("again", "exec sleep 60")); err != nil {
		t.Fatal(err)
	}
	first := waitState(t, s, "again", StateActive).PID
	if err := s.Restart("again", nil); err != nil {
		t.Fatal(err)
	}
	second := waitState(t, s, "again", StateActive).PID
	if first == second || alive(first) {
		t.Fatalf("restart kept pid %d", first)
	}
	if err := s.Restart("nonexistent", nil); err == nil {
		t.Fatal("restarting an unknown unit must fail")
	}
}

func TestUnitsRunAsTheirUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running units as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	s, paths := newSupervisor(t)
	u := shellUnit("as-nobody", `echo "uid=$(id -u) home=$HOME user=$USER"; exec sleep 60`)
	u.User = "nobody"
	u.StateDirectories = []string{"nobody-state"}
	if err := s.Start(u); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, "as-nobody", StateActive)
	want := "uid=" + nobody.Uid + " home=" + nobody.HomeDir + " user=nobody"
	waitFor(t, 5*time.Second, want, func() bool {
		data, _ := os.ReadFile(paths.UnitLog("as-nobody"))
		return strings.Contains(string(data), want)
	})
	if owner := ownerOf(t, paths.Join("/var/lib/nobody-state")); strconv.Itoa(owner) != nobody.Uid {
		t.Errorf("state directory owned by %d, want %s", owner, nobody.Uid)
	}
}

func TestInvalidUnitsAreRefused(t *testing.T) {
	s, _ := newSupervisor(t)
	for _, u := range []Unit{
		{Name: "../escape", Type: "simple", Start: []Command{{Argv: []string{"true"}}}},
		{Name: "two-mains", Type: "simple", Start: []Command{{Argv: []string{"true"}}, {Argv: []string{"true"}}}},
		{Name: "bad-type", Type: "forking", Start: []Command{{Argv: []string{"true"}}}},
		{Name: "bad-dir", Type: "oneshot", StateDirectories: []string{"../../etc"}},
	} {
		if err := s.Start(u); err == nil {
			t.Errorf("unit %+v was accepted", u)
		}
	}
}

func TestParseTimeSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": time.Minute, "5": 5 * time.Second, "100ms": 100 * time.Millisecond,
		"1min 30s": 90 * time.Second, "2h": 2 * time.Hour, "1.5s": 1500 * time.Millisecond,
		"bogus": time.Minute,
	} {
		if got := parseTimeSpan(in, time.Minute); got != want {
			t.Errorf("parseTimeSpan(%q) = %s, want %s", in, got, want)
		}
	}
	if parseTimeSpan("infinity", 0) < 24*time.Hour {
		t.Error("infinity is not long")
	}
}
