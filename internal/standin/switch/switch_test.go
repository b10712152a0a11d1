package activate

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func TestFirstSwitchStartsTheSupervisorAndTheUnits(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t,
		unit("web", "simple", "exec sleep 300"),
		unit("setup", "oneshot", "true"),
		unit("idle", "simple", "exec sleep 300", func(u *supervisor.Unit) { u.Autostart, u.WantedBy = false, nil }),
	)
	if daemonRunning(fx.paths) {
		t.Fatal("a supervisor runs before the first switch")
	}
	out := fx.mustSwitch(t, system)
	st := fx.status(t)
	if st["web"].State != supervisor.StateActive || !alive(st["web"].PID) || st["setup"].State != supervisor.StateActive {
		t.Fatalf("after the first switch: %+v\n%s", st, out)
	}
	if _, started := st["idle"]; started {
		t.Error("a unit wanted by nothing was started")
	}
	if target, err := os.Readlink(fx.paths.CurrentSystem()); err != nil || target != system {
		t.Errorf("current-system -> %q (%v), want %s", target, err, system)
	}
	if data, _ := os.ReadFile(filepath.Join(fx.paths.Root, "activations")); !strings.Contains(string(data), "begin") {
		t.Error("the activate script did not run")
	}
	if !strings.Contains(out, "starting the following new units: setup, web") {
		t.Errorf("output does not list the new units:\n%s", out)
	}
}

func TestSwitchingToTheSameSystemAgainChangesNothing(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t, unit("web", "simple", "exec sleep 300"), unit("setup", "oneshot", "true"))
	fx.mustSwitch(t, system)
	before := fx.status(t)
	out := fx.mustSwitch(t, system)
	after := fx.status(t)
	if after["web"].PID != before["web"].PID || !after["setup"].Since.Equal(before["setup"].Since) {
		t.Fatalf("a switch to the same system restarted units: %+v -> %+v", before, after)
	}
	if strings.Contains(out, "stopping") || strings.Contains(out, "starting") {
		t.Errorf("a no-op switch reported work:\n%s", out)
	}
}

func TestAChangedUnitRestartsAndAnUnchangedOneStays(t *testing.T) {
	fx := newFixture(t)
	stable := unit("stable", "simple", "exec sleep 300")
	fx.mustSwitch(t, fx.system(t, stable, unit("web", "simple", "exec sleep 300")))
	before := fx.status(t)
	changed := unit("web", "simple", "exec sleep 301")
	out := fx.mustSwitch(t, fx.system(t, stable, changed))
	after := fx.status(t)
	if after["web"].PID == before["web"].PID || alive(before["web"].PID) || after["web"].Hash != changed.Hash {
		t.Errorf("the changed unit was not restarted: %+v -> %+v", before["web"], after["web"])
	}
	if after["stable"].PID != before["stable"].PID {
		t.Errorf("the unchanged unit was restarted")
	}
	if !strings.Contains(out, "restarting the following units: web") {
		t.Errorf("output:\n%s", out)
	}
}

func TestAChangedUnitThatAsksNotToRestartKeepsRunning(t *testing.T) {
	fx := newFixture(t)
	keep := func(u *supervisor.Unit) { u.RestartIfChanged = false }
	fx.mustSwitch(t, fx.system(t, unit("db", "simple", "exec sleep 300", keep)))
	before := fx.status(t)["db"]
	out := fx.mustSwitch(t, fx.system(t, unit("db", "simple", "exec sleep 301", keep)))
	if after := fx.status(t)["db"]; after.PID != before.PID {
		t.Errorf("restartIfChanged=false unit restarted")
	}
	if !strings.Contains(out, "NOT restarting the following changed units: db") {
		t.Errorf("output:\n%s", out)
	}
}

func TestARemovedUnitIsStopped(t *testing.T) {
	fx := newFixture(t)
	web := unit("web", "simple", "exec sleep 300")
	fx.mustSwitch(t, fx.system(t, web, unit("old", "simple", "exec sleep 300")))
	old := fx.status(t)["old"].PID
	out := fx.mustSwitch(t, fx.system(t, web))
	st := fx.status(t)
	if _, known := st["old"]; known || alive(old) {
		t.Fatalf("the removed unit: known %v, alive %v", known, alive(old))
	}
	if !strings.Contains(out, "stopping the following units: old") {
		t.Errorf("output:\n%s", out)
	}
}

func TestFailingUnitsMakeTheSwitchExit4AndAreNamed(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t,
		unit("good", "simple", "exec sleep 300"),
		unit("crashes", "simple", "echo 'cannot open the database' >&2; sleep 0.3; exit 1"),
		unit("quits", "simple", "exit 0"),
		unit("badshot", "oneshot", "exit 3"),
		unit("needs-badshot", "simple", "exec sleep 300", func(u *supervisor.Unit) {
			u.Requires, u.After = []string{"badshot"}, []string{"badshot"}
		}),
	)
	code, out := fx.switchTo(t, system, "switch")
	if code != 4 {
		t.Fatalf("switch exited %d, want 4:\n%s", code, out)
	}
	if !strings.Contains(out, "the following units failed: badshot, crashes, needs-badshot, quits") {
		t.Errorf("output does not name the failed units:\n%s", out)
	}
	if !strings.Contains(out, "cannot open the database") {
		t.Errorf("output lacks the failed unit's log:\n%s", out)
	}
	if st := fx.status(t); st["good"].State != supervisor.StateActive {
		t.Errorf("good unit: %+v", st["good"])
	}
}

func TestUnitsStartAfterWhatTheyAreOrderedAfter(t *testing.T) {
	fx := newFixture(t)
	log := filepath.Join(fx.paths.Root, "order")
	// By name, "a-second" would start first.
	system := fx.system(t,
		unit("z-first", "oneshot", "sleep 0.3; echo first >> "+log),
		unit("a-second", "oneshot", "echo second >> "+log, func(u *supervisor.Unit) { u.After = []string{"z-first"} }),
	)
	fx.mustSwitch(t, system)
	data, err := os.ReadFile(log)
	if err != nil || string(data) != "first\nsecond\n" {
		t.Fatalf("start order: %q %v", data, err)
	}
}

func TestConcurrentSwitchesTakeTurns(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t, unit("web", "simple", "exec sleep 300"))
	fx.write(t, "activate-sleep", "0.5")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i], outs[i] = fx.switchTo(t, system, "switch") }()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Fatalf("switch %d exited %d:\n%s", i, c, outs[i])
		}
	}
	assertActivationsDoNotOverlap(t, filepath.Join(fx.paths.Root, "activations"), 2)
}

// assertActivationsDoNotOverlap reads begin/end stamps of activate scripts.
func assertActivationsDoNotOverlap(t *testing.T, path string, want int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spans [][2]float64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		fields := strings.Fields(line)
		stamp, _ := strconv.ParseFloat(fields[1], 64)
		if fields[0] == "begin" {
			spans = append(spans, [2]float64{stamp, 0})
		} else {
			spans[len(spans)-1][1] = stamp
		}
	}
	if len(spans) != want {
		t.Fatalf("%d activations, want %d:\n%s", len(spans), want, data)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			t.Fatalf("activations overlap: %v", spans)
		}
	}
}

// A sandbox container sees its host's /etc: its activation must not run
// while the host's (or another container's) does. The test holds the
// host's activation lock as a container activating would.
func TestActivationWaitsForAnotherOnTheSameHost(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t, unit("web", "simple", "exec sleep 300"))
	lockPath := fx.paths.Join(activationLockFile)
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o755); err != nil {
		t.Fatal(err)
	}
	held, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(t.TempDir(), "switch.out")
	out, err := os.Create(output)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := fx.switchCommand(system, "switch")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	awaitOutput(t, output, "waiting for an activation on this host")
	if _, err := os.Stat(filepath.Join(fx.paths.Root, "activations")); !os.IsNotExist(err) {
		t.Fatalf("the activation script ran while another activation held the host's lock (%v)", err)
	}
	released := float64(time.Now().UnixNano()) / 1e9
	held.Close()
	if err := cmd.Wait(); err != nil {
		data, _ := os.ReadFile(output)
		t.Fatalf("switch: %v\n%s", err, data)
	}
	data, err := os.ReadFile(filepath.Join(fx.paths.Root, "activations"))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	if began, _ := strconv.ParseFloat(fields[1], 64); fields[0] != "begin" || began < released {
		t.Errorf("activation began at %s, before the lock was released at %.3f", fields[1], released)
	}
}

// awaitOutput waits until the file holds text, for at most 30 s.
func awaitOutput(t *testing.T, path, text string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(path); strings.Contains(string(data), text) {
			return
		}
	}
	data, _ := os.ReadFile(path)
	t.Fatalf("no %q in the output within 30 s:\n%s", text, data)
}

func TestAStaleLockFileIsNoObstacle(t *testing.T) {
	fx := newFixture(t)
	lock := filepath.Join(fx.paths.Root, "run/nixos/switch-to-configuration.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("left by a switch that died\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := fx.mustSwitch(t, fx.system(t, unit("web", "simple", "exec sleep 300")))
	if strings.Contains(out, "waiting for another") {
		t.Errorf("a lock file without holder made the switch wait:\n%s", out)
	}
}

func TestDryActivatePrintsWhatWouldChangeAndChangesNothing(t *testing.T) {
	fx := newFixture(t)
	fx.mustSwitch(t, fx.system(t, unit("web", "simple", "exec sleep 300"), unit("old", "simple", "exec sleep 300")))
	before := fx.status(t)
	next := fx.system(t, unit("web", "simple", "exec sleep 301"), unit("new", "simple", "exec sleep 300"))
	code, out := fx.switchTo(t, next, "dry-activate")
	if code != 0 {
		t.Fatalf("dry-activate exited %d:\n%s", code, out)
	}
	for _, want := range []string{
		"would stop the following units: old, web",
		"would restart the following units: web",
		"would start the following units: new",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-activate output lacks %q:\n%s", want, out)
		}
	}
	after := fx.status(t)
	if after["web"].PID != before["web"].PID || after["old"].PID != before["old"].PID {
		t.Error("dry-activate changed units")
	}
}

func TestAFailedActivationScriptExits2(t *testing.T) {
	fx := newFixture(t)
	fx.write(t, "activate-status", "1")
	code, out := fx.switchTo(t, fx.system(t, unit("web", "simple", "exec sleep 300")), "switch")
	if code != 2 || !strings.Contains(out, "activation script") {
		t.Fatalf("switch exited %d, want 2:\n%s", code, out)
	}
	if fx.status(t)["web"].State != supervisor.StateActive {
		t.Error("units were not started after a failed activation")
	}
}

func TestBadInvocations(t *testing.T) {
	fx := newFixture(t)
	system := fx.system(t)
	if code, out := fx.switchTo(t, system, "reboot"); code != 1 || !strings.Contains(out, "unknown action") {
		t.Errorf("unknown action: %d %s", code, out)
	}
	if code, out := fx.switchTo(t, t.TempDir(), "switch"); code != 1 || !strings.Contains(out, "is not a system") {
		t.Errorf("not a system: %d %s", code, out)
	}
	if code, _ := fx.switchTo(t, system, "boot"); code != 0 {
		t.Errorf("boot exited %d", code)
	}
}

func TestSuperviseCommandsUseTheCurrentSystem(t *testing.T) {
	fx := newFixture(t)
	fx.mustSwitch(t, fx.system(t, unit("web", "simple", "exec sleep 300")))
	supervise := func(args ...string) string {
		cmd := exec.Command(os.Args[0], append([]string{"supervise"}, args...)...)
		cmd.Env = append(os.Environ(), supervisor.RootEnv+"="+fx.paths.Root)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("supervise %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	first := fx.status(t)["web"].PID
	supervise("stop", "web")
	if st := fx.status(t)["web"]; st.State != supervisor.StateInactive || alive(first) {
		t.Fatalf("after supervise stop: %+v", st)
	}
	supervise("start", "web") // returns once the start is under way
	deadline := time.Now().Add(10 * time.Second)
	for fx.status(t)["web"].State == supervisor.StateActivating && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := fx.status(t)["web"]; st.State != supervisor.StateActive || st.PID == first {
		t.Fatalf("after supervise start: %+v", st)
	}
	if out := supervise("status"); !strings.Contains(out, "web") || !strings.Contains(out, "active") {
		t.Fatalf("supervise status:\n%s", out)
	}
}
