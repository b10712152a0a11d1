package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// outcome is how one start of a unit ended.
type outcome struct {
	ok       bool
	result   string // for a failure: exit-code, signal, resources
	signaled bool
}

// run drives one unit until it is stopped for good: start it, watch it,
// restart it by its Restart= policy with a growing delay, and give up with
// start-limit-hit when it starts more than StartLimitBurst times within
// StartLimitIntervalSec (a crash loop ends in failed, as in systemd).
func (s *Supervisor) run(r *unitRun) {
	defer close(r.done)
	burst, interval := r.def.startLimit()
	var starts []time.Time
	streak := 0 // restarts since the unit last ran for a whole interval
	for attempt := 0; ; attempt++ {
		starts = startsWithin(append(starts, time.Now()), interval)
		if len(starts) > burst {
			s.finish(r, StateFailed, "start-limit-hit")
			return
		}
		if attempt > 0 {
			s.mu.Lock()
			r.restarts++
			s.mu.Unlock()
		}
		began := time.Now()
		out := s.runOnce(r)
		switch {
		case r.stopRequested():
			s.finish(r, StateInactive, "success")
			return
		case out.ok && r.def.Type == "oneshot" && r.def.RemainAfterExit:
			s.setState(r, StateActive, "success", 0)
			return
		case !restartWanted(r.def.Restart, out):
			if out.ok {
				s.finish(r, StateInactive, "success")
			} else {
				s.finish(r, StateFailed, out.result)
			}
			return
		}
		if time.Since(began) > interval {
			streak = 0
		}
		s.setState(r, StateActivating, out.result, 0) // auto-restart
		if !r.sleep(backoff(r.def.restartDelay(), streak)) {
			s.finish(r, StateInactive, "success")
			return
		}
		streak++
	}
}

func startsWithin(starts []time.Time, interval time.Duration) []time.Time {
	cutoff := time.Now().Add(-interval)
	kept := starts[:0]
	for _, t := range starts {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	return kept
}

// backoff doubles RestartSec= with every consecutive restart, up to five
// seconds (or RestartSec= itself when it is longer).
func backoff(base time.Duration, streak int) time.Duration {
	limit := max(base, 5*time.Second)
	d := base
	for i := 0; i < streak && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func restartWanted(policy string, out outcome) bool {
	switch policy {
	case "always":
		return true
	case "on-success":
		return out.ok
	case "on-failure":
		return !out.ok
	case "on-abnormal", "on-abort":
		return out.signaled
	default: // "no", "on-watchdog"
		return false
	}
}

func (r *unitRun) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stopping:
		return false
	}
}

// runOnce starts the unit once: ExecStartPre, then ExecStart (all of them,
// to their end, for a oneshot; the main process for a simple unit, until
// it exits), with ExecStartPost after it started.
func (s *Supervisor) runOnce(r *unitRun) outcome {
	def := r.def
	s.setState(r, StateActivating, "", 0)
	log, err := s.openLog(def.Name)
	if err != nil {
		s.recordExit(r, "cannot open the log: "+err.Error())
		return outcome{result: "resources"}
	}
	defer log.Close()
	l, err := s.prepare(def, log)
	if err != nil {
		s.note(log, "cannot start: %v", err)
		s.recordExit(r, err.Error())
		return outcome{result: "resources"}
	}
	for _, c := range def.StartPre {
		if out := s.runToEnd(r, c, l, false); !out.ok && !c.IgnoreFailure || r.stopRequested() {
			return out
		}
	}
	if def.Type == "oneshot" {
		for _, c := range append(append([]Command{}, def.Start...), def.StartPost...) {
			if out := s.runToEnd(r, c, l, def.RemainAfterExit); !out.ok && !c.IgnoreFailure || r.stopRequested() {
				return out
			}
		}
		return outcome{ok: true}
	}
	return s.runMain(r, def.Start[0], l)
}

// prepare resolves the unit's identity, directories and environment.
func (s *Supervisor) prepare(def Unit, log *os.File) (launch, error) {
	id, err := identityOf(def)
	if err != nil {
		return launch{}, err
	}
	dirs, err := prepareDirectories(s.paths, def, id)
	if err != nil {
		return launch{}, err
	}
	env, err := environmentOf(def, id, dirs)
	if err != nil {
		return launch{}, err
	}
	dir := def.WorkingDirectory
	switch dir {
	case "":
		dir = "/"
	case "~":
		dir = id.home
	}
	return launch{id: id, env: env, dir: strings.TrimPrefix(dir, "-"), log: log}, nil
}

// process is one started command of a unit.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once reaped; err is then set
	err    error
}

func (s *Supervisor) startProcess(c Command, l launch) (*process, error) {
	cmd, err := spawn(c, l)
	if err != nil {
		s.note(l.log, "cannot start %s: %v", c.Argv[0], err)
		return nil, err
	}
	s.note(l.log, "started %s (pid %d)", strings.Join(c.Argv, " "), cmd.Process.Pid)
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// await waits for the process to exit; a stop request terminates its group
// with the unit's KillSignal=, then SIGKILL after TimeoutStopSec=.
func (s *Supervisor) await(r *unitRun, p *process) {
	select {
	case <-p.exited:
	case <-r.stopping:
		s.setState(r, StateDeactivating, "", p.cmd.Process.Pid)
		terminate(p.cmd.Process.Pid, parseSignal(r.def.KillSignal), r.def.stopTimeout(), p.exited)
	}
}

// ended records how the process ended and what it means for the unit.
func (s *Supervisor) ended(r *unitRun, p *process, l launch) outcome {
	text, _ := describeExit(p.err)
	s.note(l.log, "pid %d %s", p.cmd.Process.Pid, text)
	s.recordExit(r, text)
	if p.err == nil {
		return outcome{ok: true}
	}
	if strings.HasPrefix(text, "killed by signal") {
		return outcome{result: "signal", signaled: true}
	}
	return outcome{result: "exit-code"}
}

// runToEnd runs one command to its end. Processes it leaves behind are
// killed, unless the unit remains active after it (RemainAfterExit=).
func (s *Supervisor) runToEnd(r *unitRun, c Command, l launch, keepLeftovers bool) outcome {
	if r.stopRequested() {
		return outcome{}
	}
	p, err := s.startProcess(c, l)
	if err != nil {
		s.recordExit(r, err.Error())
		return outcome{result: "resources"}
	}
	s.setPID(r, p.cmd.Process.Pid)
	s.await(r, p)
	if !keepLeftovers || r.stopRequested() {
		killLeftovers(p.cmd.Process.Pid)
	}
	return s.ended(r, p, l)
}

// runMain runs a simple unit's main process: active once started, then
// ExecStartPost, then until it exits or is stopped.
func (s *Supervisor) runMain(r *unitRun, c Command, l launch) outcome {
	p, err := s.startProcess(c, l)
	if err != nil {
		s.recordExit(r, err.Error())
		return outcome{result: "resources"}
	}
	pid := p.cmd.Process.Pid
	s.setState(r, StateActive, "", pid)
	for _, post := range r.def.StartPost {
		out := s.runToEnd(r, post, l, true)
		if !out.ok && !post.IgnoreFailure && !r.stopRequested() {
			terminate(pid, parseSignal(r.def.KillSignal), r.def.stopTimeout(), p.exited)
			return out
		}
		s.setPID(r, pid)
	}
	s.await(r, p)
	killLeftovers(pid)
	return s.ended(r, p, l)
}

func (s *Supervisor) openLog(unit string) (*os.File, error) {
	if err := os.MkdirAll(s.paths.LogDir(), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(s.paths.UnitLog(unit), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
}

// note writes the supervisor's own line into a unit's log.
func (s *Supervisor) note(log *os.File, format string, args ...any) {
	fmt.Fprintf(log, "-- %s supervisor: %s\n", time.Now().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

func (s *Supervisor) setState(r *unitRun, state, result string, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.state != state {
		r.since = time.Now()
	}
	r.state, r.result, r.pid = state, result, pid
}

func (s *Supervisor) setPID(r *unitRun, pid int) {
	s.mu.Lock()
	r.pid = pid
	s.mu.Unlock()
}

func (s *Supervisor) recordExit(r *unitRun, text string) {
	s.mu.Lock()
	r.lastExit = text
	s.mu.Unlock()
}

// finish ends a run in its final state; runtime directories go with it.
func (s *Supervisor) finish(r *unitRun, state, result string) {
	s.setState(r, state, result, 0)
	removeRuntimeDirectories(s.paths, r.def)
}
