package provider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// RELIABILITY 13: two workspaces, each adding an application of the same
// operator to one runtime, apply at the same time, as two panels' backends
// can. The host's lock serialises their builds and switches; both applies
// succeed, both applications answer, and neither fragment is lost.
func TestAccConcurrentApplies(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	cli := newProviderCLI(t)
	if expectApply(t, cli.workspace(t, "base", deployment(f, h))); t.Failed() {
		t.FailNow()
	}
	panels := []*cliWorkspace{
		cli.workspace(t, "panel-mastodon", panelApplication(f, h, "mastodon")),
		cli.workspace(t, "panel-matrix", panelApplication(f, h, "matrix")),
	}
	builds, switches := activations(t, h)
	start := time.Now()

	var wg sync.WaitGroup
	for _, w := range panels {
		wg.Go(func() { expectApply(t, w) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("both applies took %s", time.Since(start).Round(time.Millisecond))

	b, s := activations(t, h)
	if err := errors.Join(
		checkApp(t, h, "social.club.example", "mastodon", "4.4.4")(nil),
		checkApp(t, h, "matrix.club.example", "matrix", "1.140.0")(nil),
		expectFragments(t, h, "application-club-mastodon.json", "application-club-matrix.json"),
		expectDesiredIsLive(t, h),
		expectSerialised(t, h, start),
	); err != nil {
		t.Error(err)
	}
	// Each apply builds and switches at most once; one of them may find
	// its fragment already in the other's build.
	if b-builds < 1 || b-builds > 2 || s-switches < 1 || s-switches > 2 {
		t.Errorf("the two applies made %d builds and %d switches, want 1 or 2 of each", b-builds, s-switches)
	}
}

// RELIABILITY 14: an apply interrupted by SIGINT once the application's
// fragment is on the host leaves the application in state, and the next
// apply converges: it succeeds with no "already exists", the application
// answers, and there is one of everything.
func TestAccInterruptedApply_converges(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	w := newProviderCLI(t).workspace(t, "interrupted", deployment(f, h, application("mastodon")))
	fragment := path.Join(webFragments, "application-club-mastodon.json")

	out, err := w.interruptWhen(appears(t, h, fragment))
	if err == nil || errors.Is(err, errEndedEarly) {
		t.Fatalf("the apply was not interrupted (%v):\n%s", err, out)
	}
	if !strings.Contains(out, "Interrupt received") {
		t.Fatalf("the apply failed, but not from the interrupt:\n%s", out)
	}
	// Its Create failed after the fragment was written: in state, tainted.
	if state, err := w.run("state", "show", "-no-color", "fediversity_application.mastodon"); err != nil || !strings.Contains(state, "(tainted)") {
		t.Errorf("after the interrupt the application, whose fragment is on the host, is not in state as tainted (%v):\n%s\napply:\n%s", err, state, out)
	}
	// Left as it is, a fragment the interrupted deploy never brought live
	// goes live with the next deploy of any other resource on the runtime
	// (another workspace's), which the operator did not ask for.
	if err := expectDesiredIsLive(t, h); err != nil {
		t.Errorf("after the interrupted apply, once no activation runs: %v\napply:\n%s", err, out)
	}

	out = expectApply(t, w)
	if strings.Contains(strings.ToLower(out), "already exists") {
		t.Errorf("the apply after the interrupt says something already exists:\n%s", out)
	}
	if err := checkApp(t, h, "social.club.example", "mastodon", "4.4.4")(nil); err != nil {
		t.Error(err)
	}
	if plan, err := w.run("plan", "-detailed-exitcode", "-input=false", "-no-color"); err != nil {
		t.Errorf("the plan after converging is not empty (%v):\n%s", err, plan)
	}
	state, _ := w.run("state", "list")
	if n := strings.Count(state, "fediversity_application."); n != 1 {
		t.Errorf("%d applications in state, want 1:\n%s", n, state)
	}
	if err := expectFragments(t, h, "application-club-mastodon.json"); err != nil {
		t.Error(err)
	}
	units, err := supervisedUnits(t, h)
	if n := len(slices.DeleteFunc(units, func(u supervisedUnit) bool { return u.Name != "mastodon-web" })); err != nil || n != 1 {
		t.Errorf("%d mastodon-web units, want 1 (%v)", n, err)
	}
}

// webFragments holds the desired state of deployment's runtime.
const webFragments = "/etc/fediversity/runtimes/web/fragments"

// panelApplication is the configuration of a workspace of its own holding
// one application of operator club of deployment(f, h). Without the operator's resource, it
// writes out the operator's target as fediversity_operator.club.target has it.
func panelApplication(f *sandbox.Fleet, h sandbox.Host, kind string) string {
	target := fmt.Sprintf(`{
    name    = "club"
    domain  = "club.example"
    runtime = {
      name = "web"
      host = { address = %q, port = 22, host_key = %q }
    }
  }`, h.Address, h.HostKeys[0])
	app := strings.Replace(application(kind), "fediversity_operator.club.target", target, 1)
	// As deployment's, so that a workspace's health gate is as quick.
	return acctest.ProviderBlock(f, `health_timeout = "15s"`) + app
}

// expectFragments checks that the runtime's desired state holds exactly
// these application fragments, and its running system too.
func expectFragments(t *testing.T, h sandbox.Host, want ...string) error {
	for _, dir := range []string{webFragments, path.Join(nixos.SystemProfile().Path, "etc/fediversity/fragments")} {
		out, err := onHost(t, h, `ls -- "$1" | grep '^application-' || true`, dir)
		if err != nil {
			return fmt.Errorf("listing %s: %w\n%s", dir, err, out)
		}
		if got := strings.Fields(out); !slices.Equal(got, want) {
			return fmt.Errorf("%s holds application fragments %v, want %v", dir, got, want)
		}
	}
	return nil
}

// expectDesiredIsLive checks that the runtime's fragments on disk are
// those its running system was built from, once no build or switch holds
// the host's lock: the provider's desired state must never run ahead of
// what is live, nor a deploy lose a fragment.
func expectDesiredIsLive(t *testing.T, h sandbox.Host) error {
	profile := nixos.SystemProfile()
	out, err := onHost(t, h, `
flock -w 120 "$1" true || exit 1
digests() { for f in "$1"/*.json; do [ -e "$f" ] && echo "$(basename "$f") $(sha256sum <"$f" | cut -c 1-64)"; done; }
digests "$2"; echo ==; digests "$3/etc/fediversity/fragments"`, profile.Lock, webFragments, profile.Path)
	if err != nil {
		return fmt.Errorf("comparing the desired state with the running system: %w\n%s", err, out)
	}
	if desired, live, _ := strings.Cut(out, "=="); strings.TrimSpace(desired) != strings.TrimSpace(live) {
		return fmt.Errorf("the fragments on disk are not those of the running system:\non disk:\n%s\nrunning:\n%s", desired, live)
	}
	return nil
}

// expectSerialised checks that the runs of the activation runner since
// start held the host's lock one after another: each runner writes
// "previous" once it holds the lock and "status" just before letting go.
func expectSerialised(t *testing.T, h sandbox.Host, start time.Time) error {
	out, err := onHost(t, h, `for d in /run/fediversity/activations/*/; do
  [ -e "$d/previous" ] && [ -e "$d/status" ] && echo "$(stat -c %.9Y "$d/previous") $(stat -c %.9Y "$d/status") $(cat "$d/status")"
done | sort -n`)
	if err != nil {
		return fmt.Errorf("reading the activation records: %w\n%s", err, out)
	}
	type run struct {
		from, to float64
		status   string
	}
	var runs []run
	since := float64(start.UnixNano()) / 1e9
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		from, _ := strconv.ParseFloat(fields[0], 64)
		to, _ := strconv.ParseFloat(fields[1], 64)
		if from >= since {
			runs = append(runs, run{from, to, fields[2]})
		}
	}
	if len(runs) < 2 {
		return fmt.Errorf("%d runs of the activation runner since the applies started, want one per apply at least:\n%s", len(runs), out)
	}
	for i, r := range runs {
		t.Logf("activation %d held the lock from %.3fs to %.3fs after the applies started: %s", i+1, r.from-since, r.to-since, r.status)
	}
	for i := 1; i < len(runs); i++ {
		if runs[i].from < runs[i-1].to {
			return fmt.Errorf("two activations held the lock at once: %+v and %+v", runs[i-1], runs[i])
		}
	}
	return nil
}

// providerCLI is the OpenTofu CLI with the provider built from this
// checkout, for tests that run the CLI themselves as a panel's backend
// does: resource.Test runs one configuration at a time.
type providerCLI struct {
	path string
	env  []string
}

func newProviderCLI(t *testing.T) providerCLI {
	t.Helper()
	cli := acctest.Tofu(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-fediversity"), "github.com/fediversity/terraform-provider-fediversity")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "cli.tfrc")
	overrides := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.opentofu.org/fediversity/fediversity" = %q
  }
  direct {}
}
`, dir)
	if err := os.WriteFile(rc, []byte(overrides), 0o644); err != nil {
		t.Fatal(err)
	}
	// Later entries win: ours over whatever TF_CLI_CONFIG_FILE the test runs with.
	return providerCLI{path: cli, env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")}
}

// cliWorkspace is a working directory with its own configuration and state.
type cliWorkspace struct {
	t    *testing.T
	cli  providerCLI
	dir  string
	name string
}

// workspace writes config into a new working directory and destroys
// whatever it holds when the test ends (workspaces made later first).
func (p providerCLI) workspace(t *testing.T, name, config string) *cliWorkspace {
	t.Helper()
	w := &cliWorkspace{t: t, cli: p, dir: filepath.Join(t.TempDir(), name), name: name}
	config = `terraform {
  required_providers {
    fediversity = { source = "fediversity/fediversity" }
  }
}
` + config
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := w.run("destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
			t.Errorf("destroying workspace %s: %v\n%s", name, err, out)
		}
	})
	return w
}

// cliTimeout bounds one CLI run.
const cliTimeout = 10 * time.Minute

func (w *cliWorkspace) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.cli.path, args...)
	cmd.Dir, cmd.Env = w.dir, w.cli.env
	return cmd
}

func (w *cliWorkspace) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, err := w.command(ctx, args...).CombinedOutput()
	return string(out), err
}

// expectApply applies and reports a failure as a test error, so that it
// can run on any goroutine.
func expectApply(t *testing.T, w *cliWorkspace) string {
	t.Helper()
	out, err := w.run("apply", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Errorf("apply in workspace %s: %v\n%s", w.name, err, out)
	}
	return out
}

var errEndedEarly = errors.New("the apply ended before it could be interrupted")

// interruptWhen starts an apply, sends it SIGINT, as Ctrl-C does, once
// ready is closed, and waits for the CLI to exit.
func (w *cliWorkspace) interruptWhen(ready <-chan error) (string, error) {
	return w.applyUntil(ready, func(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) })
}

// applyUntil starts an apply in its own process group and, once ready
// reports, stops it with stop; it waits for the CLI to exit. An apply that
// ends first, or a ready that fails, is errEndedEarly.
func (w *cliWorkspace) applyUntil(ready <-chan error, stop func(*exec.Cmd) error) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := w.command(ctx, "apply", "-auto-approve", "-input=false", "-no-color")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return out.String(), errors.Join(errEndedEarly, err)
	case err := <-ready:
		if err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return out.String(), errors.Join(errEndedEarly, err, <-exited)
		}
	}
	if err := stop(cmd); err != nil {
		return out.String(), err
	}
	err := <-exited
	return out.String(), err
}

// appears reports on the channel once path exists on the host. A shell
// inside the host spins on it, far quicker than polling from outside: a
// deploy starts its switch a few SSH round trips after writing its fragment.
func appears(t *testing.T, h sandbox.Host, path string) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan error, 1)
	go func() {
		out, err := h.Exec(ctx, "sh", "-c", `while [ ! -e "$1" ]; do :; done`, "sh", path).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("watching for %s on %s: %w\n%s", path, h.Name, err, out)
		}
		ready <- err
	}()
	return ready
}
