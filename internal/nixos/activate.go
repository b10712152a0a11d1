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

// Switch is one activation of a system on a profile.
type Switch struct {
	Profile  Profile
	Toplevel string // store path of the system, already valid on the host
	// Health runs after a successful switch; an error rolls back.
	Health func(ctx context.Context) error
	// Keep is how many generations stay as rollback points (at least 2).
	Keep int
	// LockWait bounds the wait for another build or switch of the profile.
	LockWait time.Duration
	// Timeout bounds the switch itself, reconnections included.
	Timeout time.Duration
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

// Activate switches the profile to sw.Toplevel, detached from the SSH
// session, and gates on sw.Health. Any failure rolls back to the previous
// generation and is returned as an *ActivationError that says so; a switch
// that rolled back never reports success.
func Activate(ctx context.Context, connect Connect, sw Switch) error {
	sw = sw.withDefaults()
	ctx = tflog.SetField(ctx, "profile", sw.Profile.Path)
	tflog.Info(ctx, "activating system", map[string]any{"toplevel": sw.Toplevel})
	rec, err := runDetached(ctx, connect, sw, sw.Toplevel)
	if err != nil {
		return err
	}
	failure := judge(ctx, sw, rec)
	if failure == nil {
		prune(ctx, connect, sw)
		return nil
	}
	if rec.previous == "" {
		failure.RollbackErr = fmt.Errorf("no earlier generation of %s to roll back to", sw.Profile.Path)
		return failure
	}
	tflog.Warn(ctx, "activation failed; rolling back", map[string]any{"stage": failure.Stage, "to": rec.previous})
	back, err := runDetached(ctx, connect, sw, "--rollback")
	switch {
	case err != nil:
		failure.RollbackErr = err
	case back.status != "0":
		failure.RollbackErr = fmt.Errorf("switching back exited %s:\n%s", back.status, back.log)
	default:
		failure.RolledBackTo = rec.previous
	}
	return failure
}

// judge turns the runner's record and the health gate into a failure, or nil.
func judge(ctx context.Context, sw Switch, rec record) *ActivationError {
	base := ActivationError{Profile: sw.Profile.Path, Toplevel: sw.Toplevel, ExitStatus: rec.status, Log: rec.log}
	switch {
	case rec.status == "locked":
		base.Stage, base.Holder = StageLock, rec.holder
	case rec.status != "0":
		base.Stage = StageSwitch
	case sw.Health != nil:
		if err := sw.Health(ctx); err != nil {
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
	status   string // exit status of the switch, "1" when the profile could not be set, "locked"
	previous string // the system before this activation
	holder   string // who held the lock, when status is "locked"
	log      string // the tail of the output
}

// runDetached starts the runner for toplevel and waits for its record,
// reconnecting through lost connections until sw.Timeout.
func runDetached(ctx context.Context, connect Connect, sw Switch, toplevel string) (record, error) {
	dir := path.Join(activationsDir, newActivationID())
	c, err := connect(ctx)
	if err != nil {
		return record{}, err
	}
	_, err = c.Output(ctx, "sh", "-c", startScript, "sh", runnerScript,
		sw.Profile.Lock, sw.Profile.Path, toplevel, dir, "switch", seconds(sw.LockWait))
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
