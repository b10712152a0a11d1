package activate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// switcher switches one system root to one system.
type switcher struct {
	toplevel string
	paths    supervisor.Paths
	stdout   io.Writer
	stderr   io.Writer
	settle   time.Duration
}

// lockFile is NixOS's lock of switch-to-configuration.
func (s *switcher) lockFile() string {
	return s.paths.Join("/run/nixos/switch-to-configuration.lock")
}

// activationLockFile is one per sandbox host: in its store's state, which
// the host shares with its containers (their /run is their own). A sandbox
// container's /etc is an overlay over its host's, so while the host's
// activation script runs, its useradd's /etc/group.lock and the
// /etc/.static.tmp it renames show in a container activating at that
// moment, and fail it; a NixOS container, with an /etc of its own, never
// sees them. Activation scripts on one sandbox host therefore take turns.
const activationLockFile = "/nix/var/fediversity-sandbox/activation.lock"

func (s *switcher) run(ctx context.Context, action string) int {
	units, err := supervisor.ReadUnitsFile(filepath.Join(s.toplevel, "units.json"))
	if err != nil {
		fmt.Fprintf(s.stderr, "error: %s is not a system of the stand-in nixpkgs: %v\n", s.toplevel, err)
		return exitError
	}
	switch action {
	case "switch", "test":
		return s.switchTo(ctx, units)
	case "dry-activate":
		return s.dryActivate(ctx, units)
	case "boot":
		return exitOK
	default:
		fmt.Fprintf(s.stderr, "error: unknown action %q\n%s", action, usage)
		return exitError
	}
}

func (s *switcher) switchTo(ctx context.Context, units []supervisor.Unit) int {
	release, err := lockSwitch(s.lockFile(), s.stderr)
	if err != nil {
		fmt.Fprintf(s.stderr, "error: %v\n", err)
		return exitError
	}
	defer release()
	client, err := s.ensureSupervisor(ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "error: %v\n", err)
		return exitError
	}
	current, err := client.Status(ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "error: %v\n", err)
		return exitError
	}
	p := makePlan(units, current)
	failed := map[string]string{}
	s.stopUnits(ctx, client, p, failed)
	status := exitOK
	if !s.activate(ctx) {
		status = exitActivationFailed
	}
	if err := s.setCurrentSystem(); err != nil {
		fmt.Fprintf(s.stderr, "error: %v\n", err)
		return exitError
	}
	started := s.startUnits(ctx, client, p, failed)
	s.awaitUp(ctx, client, started, failed)
	if ctx.Err() != nil {
		fmt.Fprintf(s.stderr, "error: switch-to-configuration was %v before its units were up\n", errInterrupted)
		return exitError
	}
	if s.reportFailures(ctx, client, failed) {
		return exitUnitsFailed
	}
	return status
}

func (s *switcher) stopUnits(ctx context.Context, client supervisor.Client, p plan, failed map[string]string) {
	if len(p.kept) > 0 {
		fmt.Fprintf(s.stderr, "NOT restarting the following changed units: %s\n", strings.Join(p.kept, ", "))
	}
	if len(p.stop) > 0 {
		fmt.Fprintf(s.stderr, "stopping the following units: %s\n", strings.Join(p.stop, ", "))
	}
	for _, name := range p.stop {
		if err := client.Stop(ctx, name, p.remove[name]); err != nil {
			failed[name] = "could not be stopped: " + err.Error()
		}
	}
	for name := range p.remove { // stopped before, or never running: forget them too
		_ = client.Stop(ctx, name, true)
	}
}

// activate runs the system's activate script (users, /etc, tmpfiles,
// activation snippets). A failure is reported and the switch goes on, as
// in NixOS; the exit status says so.
func (s *switcher) activate(ctx context.Context) bool {
	release, err := lockExclusive(s.paths.Join(activationLockFile), "an activation on this host or one of its containers", s.stderr)
	if err != nil {
		fmt.Fprintf(s.stderr, "error: %v\n", err)
		return false
	}
	defer release()
	fmt.Fprintln(s.stderr, "activating the configuration...")
	cmd := exec.CommandContext(ctx, filepath.Join(s.toplevel, "activate"), s.toplevel)
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	cmd.Dir = "/"
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(s.stderr, "error: the activation script of %s failed: %v\n", s.toplevel, err)
		return false
	}
	return true
}

// setCurrentSystem points /run/current-system at the system, atomically.
func (s *switcher) setCurrentSystem() error {
	link := s.paths.CurrentSystem()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(s.toplevel, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// startUnits starts units in order. As with systemd's After=, a unit
// waits until the units it comes after have finished starting (a oneshot
// has run, a simple unit has spawned its main process); a unit whose
// requirement failed is not started and fails too.
func (s *switcher) startUnits(ctx context.Context, client supervisor.Client, p plan, failed map[string]string) []supervisor.Unit {
	s.announceStarts(p)
	var started []supervisor.Unit
	for _, u := range p.start {
		s.awaitStarted(ctx, client, u.After, started, failed)
		if dep := firstFailed(u.Requires, failed); dep != "" {
			failed[u.Name] = "dependency " + dep + " failed"
			continue
		}
		if err := client.Start(ctx, u); err != nil {
			failed[u.Name] = "could not be started: " + err.Error()
			continue
		}
		started = append(started, u)
		if u.Type == "oneshot" {
			s.awaitStarted(ctx, client, []string{u.Name}, started, failed)
		}
	}
	return started
}

func (s *switcher) announceStarts(p plan) {
	var restart, start, fresh []string
	for _, u := range p.start {
		switch {
		case p.restart[u.Name]:
			restart = append(restart, u.Name)
		case p.isNew[u.Name]:
			fresh = append(fresh, u.Name)
		default:
			start = append(start, u.Name)
		}
	}
	for _, l := range []struct {
		what  string
		units []string
	}{{"restarting the following units", restart}, {"starting the following units", start}, {"starting the following new units", fresh}} {
		if len(l.units) > 0 {
			sort.Strings(l.units)
			fmt.Fprintf(s.stderr, "%s: %s\n", l.what, strings.Join(l.units, ", "))
		}
	}
}

func firstFailed(names []string, failed map[string]string) string {
	for _, n := range names {
		if _, ok := failed[n]; ok {
			return n
		}
	}
	return ""
}

// awaitStarted waits until those of names started by this switch are no
// longer activating; a oneshot that ended in failure is recorded.
func (s *switcher) awaitStarted(ctx context.Context, client supervisor.Client, names []string, started []supervisor.Unit, failed map[string]string) {
	pending := map[string]supervisor.Unit{}
	for _, u := range started {
		for _, n := range names {
			if u.Name == n {
				pending[n] = u
			}
		}
	}
	deadline := map[string]time.Time{}
	for n, u := range pending {
		deadline[n] = time.Now().Add(u.StartTimeout())
	}
	s.poll(ctx, client, func(st map[string]supervisor.UnitStatus) bool {
		for n, u := range pending {
			cur := st[n]
			switch {
			case cur.State == supervisor.StateActivating && time.Now().After(deadline[n]):
				failed[n] = "did not finish starting within " + u.StartTimeout().String()
			case cur.State == supervisor.StateActivating:
				continue
			case cur.State == supervisor.StateFailed || (u.Type == "oneshot" && cur.State != supervisor.StateActive && cur.State != supervisor.StateInactive):
				failed[n] = describe(cur)
			}
			delete(pending, n)
		}
		return len(pending) == 0
	})
}

// awaitUp waits until every started simple unit has stayed active for the
// settle time; one that exits (or ends failed after restarts) has failed.
func (s *switcher) awaitUp(ctx context.Context, client supervisor.Client, started []supervisor.Unit, failed map[string]string) {
	pending := map[string]time.Time{} // name -> deadline
	for _, u := range started {
		if _, bad := failed[u.Name]; !bad && u.Type == "simple" {
			pending[u.Name] = time.Now().Add(u.StartTimeout() + s.settle)
		}
	}
	s.poll(ctx, client, func(st map[string]supervisor.UnitStatus) bool {
		for n, deadline := range pending {
			cur := st[n]
			switch {
			case cur.State == supervisor.StateActive && time.Since(cur.Since) >= s.settle:
			case cur.State == supervisor.StateActive || cur.State == supervisor.StateActivating:
				if time.Now().Before(deadline) {
					continue
				}
				failed[n] = "did not stay up for " + s.settle.String()
			default:
				failed[n] = describe(cur)
			}
			delete(pending, n)
		}
		return len(pending) == 0
	})
}

// poll calls done with the supervisor's status every 100 ms until it
// returns true, the context ends, or the supervisor stops answering.
func (s *switcher) poll(ctx context.Context, client supervisor.Client, done func(map[string]supervisor.UnitStatus) bool) {
	for {
		units, err := client.Status(ctx)
		if err != nil {
			fmt.Fprintf(s.stderr, "error: %v\n", err)
			done(map[string]supervisor.UnitStatus{})
			return
		}
		byName := map[string]supervisor.UnitStatus{}
		for _, u := range units {
			byName[u.Name] = u
		}
		if done(byName) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describe(u supervisor.UnitStatus) string {
	if u.Name == "" {
		return "unknown to the supervisor"
	}
	text := u.State
	if u.Result != "" && u.Result != "success" {
		text += " (" + u.Result + ")"
	}
	if u.LastExit != "" {
		text += ", " + u.LastExit
	}
	return text
}

// errInterrupted is reported when a switch is cut short by a signal.
var errInterrupted = errors.New("interrupted")
