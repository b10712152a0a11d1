package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDaemon runs a daemon for paths until the test ends.
// done is closed when the daemon has returned, with its error in *result.
func startDaemon(t *testing.T, paths Paths) (client Client, done <-chan struct{}, result *error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var err error
	go func() { err = Daemon(ctx, paths); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	client = NewClient(paths)
	waitFor(t, 5*time.Second, "the daemon to answer", client.Running)
	return client, finished, &err
}

func TestDaemonServesTheProtocol(t *testing.T) {
	paths := tempRoot(t)
	client, _, _ := startDaemon(t, paths)
	ctx := context.Background()

	if fi, err := os.Stat(paths.Socket()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v, want mode 0600", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(paths.Socket())); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v %v, want mode 0700", fi, err)
	}
	if err := client.Start(ctx, shellUnit("web", "exec sleep 60")); err != nil {
		t.Fatal(err)
	}
	var web UnitStatus
	waitFor(t, 5*time.Second, "web to be active", func() bool {
		units, err := client.Status(ctx)
		if err == nil && len(units) == 1 {
			web = units[0]
		}
		return web.State == StateActive
	})
	if web.Name != "web" || !alive(web.PID) || web.Hash == "" {
		t.Fatalf("status %+v", web)
	}
	if err := client.Stop(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if units, _ := client.Status(ctx); len(units) != 0 || alive(web.PID) {
		t.Fatalf("after stop with remove: %+v, process alive %v", units, alive(web.PID))
	}
	if err := client.Stop(ctx, "nothing", false); err == nil || !strings.Contains(err.Error(), "no unit named nothing") {
		t.Fatalf("stopping an unknown unit: %v", err)
	}
	if _, err := client.Do(ctx, Request{Op: "reboot"}); err == nil {
		t.Fatal("an unknown operation was accepted")
	}
}

func TestASecondDaemonForTheSameRootRefuses(t *testing.T) {
	paths := tempRoot(t)
	startDaemon(t, paths)
	err := Daemon(context.Background(), paths)
	if err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second daemon: %v", err)
	}
}

func TestShutdownStopsUnitsAndEndsTheDaemon(t *testing.T) {
	paths := tempRoot(t)
	client, done, result := startDaemon(t, paths)
	ctx := context.Background()
	if err := client.Start(ctx, shellUnit("worker", "exec sleep 60")); err != nil {
		t.Fatal(err)
	}
	var pid int
	waitFor(t, 5*time.Second, "worker to run", func() bool {
		units, _ := client.Status(ctx)
		if len(units) == 1 {
			pid = units[0].PID
		}
		return pid != 0
	})
	if err := client.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if *result != nil {
			t.Fatal(*result)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not exit after shutdown")
	}
	if alive(pid) {
		t.Fatal("shutdown left a unit running")
	}
}

func TestStatusCommand(t *testing.T) {
	paths := tempRoot(t)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), append(args, "--root", paths.Root), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, _ := run("status", "--json"); code != 0 || !strings.Contains(out, `"running": false`) {
		t.Fatalf("status --json without a daemon: %d %s", code, out)
	}
	if code, _, errOut := run("status"); code != exitNotRunning || !strings.Contains(errOut, "no supervisor is running") {
		t.Fatalf("status without a daemon: %d %s", code, errOut)
	}
	client, _, _ := startDaemon(t, paths)
	if err := client.Start(context.Background(), shellUnit("shown", "exec sleep 60")); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run("status", "--json")
	var report StatusReport
	if err := json.Unmarshal([]byte(out), &report); code != 0 || err != nil || !report.Running || len(report.Units) != 1 || report.Units[0].Name != "shown" {
		t.Fatalf("status --json: %d %v %s", code, err, out)
	}
	if code, out, _ := run("status"); code != 0 || !strings.Contains(out, "UNIT") || !strings.Contains(out, "shown") {
		t.Fatalf("status: %d %s", code, out)
	}
	if code, _, _ := run("frobnicate"); code != exitUsage {
		t.Fatalf("an unknown command exited %d", code)
	}
}
