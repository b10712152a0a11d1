package nixos

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Remote runs one command on a host; *remote.Client is one.
type Remote interface {
	Output(ctx context.Context, args ...string) ([]byte, error)
}

// Connect returns a live connection to the host. Activation calls it again
// after a lost connection, so it must reconnect (remote.Pool does).
type Connect func(ctx context.Context) (Remote, error)

// Switch is one activation of a system on a profile: either a system
// already in the host's store (Toplevel) or one built there first (Build).
type Switch struct {
	Profile  Profile
	Toplevel string // store path of the system, already valid on the host
	// BuiltFrom, with Toplevel, is the directory on the host of the
	// fragments Toplevel was built from elsewhere: under the profile's lock
	// the switch is skipped when the running system was built from them
	// (unless Repair), and refused with ErrStale when they changed since.
	BuiltFrom string
	Repair    bool
	Build     *Build // build on the host, under the profile's lock
	// Health runs after a successful switch, given the system switched to;
	// an error rolls back.
	Health func(ctx context.Context, system string) error
	// Keep is how many generations stay as rollback points (at least 2).
	Keep int
	// LockWait bounds the wait for another build or switch of the profile.
	LockWait time.Duration
	// Timeout bounds the switch itself, reconnections included.
	Timeout time.Duration
}

// Build says how to build a runtime's system on the host.
type Build struct {
	Entry     string // the provider's entry.nix on the host
	Fragments string // directory of the runtime's fragments
	Nixpkgs   string // path of the pinned nixpkgs; empty uses the host's NIX_PATH
	OutLink   string // GC root for the built system until a profile holds it
	// Repair switches to the running system again when nothing needs to be
	// built, to restart what was stopped behind the provider's back.
	Repair bool
}

// Result says what an activation did.
type Result struct {
	Changed bool   // false when the running system already included the fragments
	System  string // the system now running
}

func (s Switch) withDefaults() Switch {
	s.Keep = max(s.Keep, 2)
	if s.LockWait <= 0 {
		s.LockWait = 10 * time.Minute
	}
	if s.Timeout <= 0 {
		s.Timeout = 30 * time.Minute
	}
	return s
}

// Activate brings the profile to the system, detached from the SSH
// session, and gates on sw.Health. Any failure after the switch rolls back
// to the previous generation and is returned as an *ActivationError that
// says so; a switch that rolled back never reports success. A failed build
// changes nothing.
func Activate(ctx context.Context, connect Connect, sw Switch) (Result, error) {
	sw = sw.withDefaults()
	ctx = tflog.SetField(ctx, "profile", sw.Profile.Path)
	tflog.Info(ctx, "activating system", map[string]any{"toplevel": sw.Toplevel, "build": sw.Build != nil})
	rec, err := runDetached(ctx, connect, sw, sw.target())
	if err != nil {
		return Result{}, err
	}
	switch rec.status {
	case "unchanged":
		return Result{System: rec.previous}, nil
	case "stale":
		return Result{System: rec.previous}, ErrStale
	}
	failure := judge(ctx, sw, rec)
	if failure == nil {
		prune(ctx, connect, sw)
		return Result{Changed: true, System: rec.system}, nil
	}
	if failure.Stage == StageLock || failure.Stage == StageBuild {
		return Result{System: rec.previous}, failure
	}
	if rec.reswitch {
		failure.RollbackErr = fmt.Errorf("the running system was switched to again and is the one to fix; nothing to roll back to")
		return Result{System: rec.system}, failure
	}
	if rec.previous == "" {
		failure.RollbackErr = fmt.Errorf("no earlier generation of %s to roll back to", sw.Profile.Path)
		return Result{}, failure
	}
	tflog.Warn(ctx, "activation failed; rolling back", map[string]any{"stage": failure.Stage, "to": rec.previous})
	back, err := runDetached(ctx, connect, sw, []string{"--rollback"})
	switch {
	case err != nil:
		failure.RollbackErr = err
	case back.status != "0":
		failure.RollbackErr = fmt.Errorf("switching back exited %s:\n%s", back.status, back.log)
	default:
		failure.RolledBackTo = rec.previous
	}
	return Result{System: failure.RolledBackTo}, failure
}

// ErrStale says that the fragments changed after the system was built
// from them elsewhere; nothing was switched, and it is to be built again.
var ErrStale = errors.New("the desired state changed while the system was built; nothing was switched")

// target is the runner's target and extra arguments for this switch.
func (s Switch) target() []string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return ""
	}
	if s.Build == nil {
		return []string{s.Toplevel, "", s.BuiltFrom, "", "", yes(s.Repair)}
	}
	return []string{"--build", s.Build.Entry, s.Build.Fragments, s.Build.Nixpkgs, s.Build.OutLink, yes(s.Build.Repair)}
}

// judge turns the runner's record and the health gate into a failure, or nil.
func judge(ctx context.Context, sw Switch, rec record) *ActivationError {
	base := ActivationError{Profile: sw.Profile.Path, Toplevel: cmp.Or(rec.system, sw.Toplevel), ExitStatus: rec.status, Log: rec.log}
	switch {
	case rec.status == "locked":
		base.Stage, base.Holder = StageLock, rec.holder
	case rec.status == "build-failed":
		base.Stage = StageBuild
	case rec.status != "0":
		base.Stage = StageSwitch
	case sw.Health != nil:
		if err := sw.Health(ctx, rec.system); err != nil {
			base.Stage, base.Cause = StageHealth, err
		} else {
			return nil
		}
	default:
		return nil
	}
	return &base
}

// record is what the runner left on the host.
type record struct {
	status   string // see runnerScript
	previous string // the system before this activation
	system   string // the system switched to
	holder   string // who held the lock, when status is "locked"
	log      string // the tail of the output
	reswitch bool   // the running system was switched to again (Build.Repair)
}

// runDetached starts the runner for target and waits for its record,
// reconnecting through lost connections until sw.Timeout.
func runDetached(ctx context.Context, connect Connect, sw Switch, target []string) (record, error) {
	dir := path.Join(activationsDir, newActivationID())
	c, err := connect(ctx)
	if err != nil {
		return record{}, err
	}
	args := []string{"sh", "-c", startScript, "sh", runnerScript,
		sw.Profile.Lock, sw.Profile.Path, target[0], dir, "switch", seconds(sw.LockWait), sw.Profile.Container}
	_, err = c.Output(ctx, append(args, target[1:]...)...)
	if err != nil {
		return record{}, fmt.Errorf("starting the switch of %s: %w", sw.Profile.Path, err)
	}
	return waitForRecord(ctx, connect, dir, time.Now().Add(sw.Timeout+sw.LockWait))
}

var errStillRunning = errors.New("still running")

// waitPoll is how long one wait command runs on the host before the
// provider asks again; short enough to notice a lost connection quickly.
const waitPoll = 30 * time.Second

func waitForRecord(ctx context.Context, connect Connect, dir string, deadline time.Time) (record, error) {
	for {
		rec, err := pollRecord(ctx, connect, dir)
		switch {
		case err == nil && rec.status != "running":
			return rec, nil
		case err != nil && !remote.IsTransient(err):
			return rec, err
		case time.Now().After(deadline):
			return rec, fmt.Errorf("the switch recorded in %s did not finish in time and goes on on the host: %w", dir, cmp.Or(err, errStillRunning))
		case err != nil:
			tflog.Warn(ctx, "connection lost while waiting for the switch; reconnecting", map[string]any{"error": err.Error()})
			if !sleep(ctx, time.Second) {
				return rec, ctx.Err()
			}
		}
	}
}

func pollRecord(ctx context.Context, connect Connect, dir string) (record, error) {
	c, err := connect(ctx)
	if err != nil {
		return record{}, err
	}
	out, err := c.Output(ctx, "sh", "-c", waitScript, "sh", dir, seconds(waitPoll))
	if err != nil {
		return record{}, err
	}
	return parseRecord(string(out)), nil
}

func parseRecord(out string) record {
	head, log, _ := strings.Cut(out, "log<<\n")
	var r record
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "status":
			r.status = v
		case "previous":
			r.previous = v
		case "holder":
			r.holder = v
		case "system":
			r.system = v
		case "reswitch":
			r.reswitch = v == "yes"
		}
	}
	r.log = strings.TrimRight(log, "\n")
	return r
}

// prune keeps sw.Keep generations and the newest activation records; its
// failure never fails an activation that succeeded.
func prune(ctx context.Context, connect Connect, sw Switch) {
	c, err := connect(ctx)
	if err == nil {
		_, err = c.Output(ctx, "sh", "-c", pruneScript, "sh", sw.Profile.Path, strconv.Itoa(sw.Keep), activationsDir, strconv.Itoa(keepRecords))
	}
	if err != nil {
		tflog.Warn(ctx, "could not prune old generations", map[string]any{"error": err.Error()})
	}
}

func newActivationID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Seconds())))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
