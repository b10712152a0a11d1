package supervisor

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Unit states, named as systemd names them.
const (
	StateInactive     = "inactive"
	StateActivating   = "activating" // starting, or waiting to restart
	StateActive       = "active"
	StateDeactivating = "deactivating"
	StateFailed       = "failed"
)

// UnitStatus is one unit as the status request reports it.
type UnitStatus struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Type        string    `json:"type"`
	State       string    `json:"state"`
	Result      string    `json:"result,omitempty"` // success, exit-code, signal, start-limit-hit, resources
	PID         int       `json:"pid,omitempty"`
	Since       time.Time `json:"since"`
	Restarts    int       `json:"restarts"`
	Hash        string    `json:"hash"`
	LastExit    string    `json:"lastExit,omitempty"`
}

// Supervisor runs units. Operations that change units (start, stop,
// restart, shutdown) run one at a time; status never waits for them.
type Supervisor struct {
	paths Paths
	ops   sync.Mutex // serialises operations
	mu    sync.Mutex // guards units and every unitRun's fields
	units map[string]*unitRun
}

// New returns a supervisor for the system root of paths.
func New(paths Paths) *Supervisor {
	return &Supervisor{paths: paths, units: map[string]*unitRun{}}
}

// unitRun is one unit's life since its last start request.
type unitRun struct {
	def      Unit
	state    string
	result   string
	pid      int
	since    time.Time
	restarts int
	lastExit string
	stopOnce sync.Once
	stopping chan struct{} // closed to ask the runner to stop
	done     chan struct{} // closed when the runner has finished
}

func (r *unitRun) requestStop() { r.stopOnce.Do(func() { close(r.stopping) }) }

func (r *unitRun) stopRequested() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// Start starts a unit. Starting a unit that runs the same definition
// (hash) is a no-op; one that runs another definition is stopped first.
func (s *Supervisor) Start(def Unit) error {
	if err := def.Validate(); err != nil {
		return err
	}
	s.ops.Lock()
	defer s.ops.Unlock()
	s.startLocked(def)
	return nil
}

func (s *Supervisor) startLocked(def Unit) {
	s.mu.Lock()
	cur := s.units[def.Name]
	unchanged := cur != nil && cur.def.Hash == def.Hash && (cur.state == StateActive || cur.state == StateActivating)
	s.mu.Unlock()
	if unchanged {
		return
	}
	if cur != nil {
		s.stopRun(cur)
	}
	r := &unitRun{def: def, state: StateActivating, since: time.Now(),
		stopping: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.units[def.Name] = r
	s.mu.Unlock()
	go s.run(r)
}

// Stop stops a unit and waits until its processes are gone; with remove,
// the unit is forgotten (it left the system).
func (s *Supervisor) Stop(name string, remove bool) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	r := s.units[name]
	s.mu.Unlock()
	if r == nil {
		if remove {
			return nil
		}
		return fmt.Errorf("no unit named %s", name)
	}
	s.stopRun(r)
	if remove {
		s.mu.Lock()
		if s.units[name] == r {
			delete(s.units, name)
		}
		s.mu.Unlock()
	}
	return nil
}

// Restart stops a unit and starts it again, with def if given, else with
// the definition it had.
func (s *Supervisor) Restart(name string, def *Unit) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	r := s.units[name]
	s.mu.Unlock()
	switch {
	case def != nil:
		if err := def.Validate(); err != nil {
			return err
		}
	case r != nil:
		def = &r.def
	default:
		return fmt.Errorf("no unit named %s", name)
	}
	if r != nil {
		s.stopRun(r)
	}
	s.startLocked(*def)
	return nil
}

// stopRun ends a run: the runner terminates the unit's processes and
// finishes; a oneshot that remained active becomes inactive.
func (s *Supervisor) stopRun(r *unitRun) {
	r.requestStop()
	<-r.done
	s.mu.Lock()
	wasActive := r.state == StateActive
	if wasActive {
		r.state, r.result, r.since = StateInactive, "success", time.Now()
	}
	s.mu.Unlock()
	if wasActive {
		removeRuntimeDirectories(s.paths, r.def)
	}
}

// Shutdown stops every unit, all at once, and returns when they are gone.
func (s *Supervisor) Shutdown() {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.mu.Lock()
	runs := make([]*unitRun, 0, len(s.units))
	for _, r := range s.units {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); s.stopRun(r) }()
	}
	wg.Wait()
}

// Status reports every unit the supervisor knows, by name.
func (s *Supervisor) Status() []UnitStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]UnitStatus, 0, len(s.units))
	for _, r := range s.units {
		list = append(list, UnitStatus{
			Name: r.def.Name, Description: r.def.Description, Type: r.def.Type,
			State: r.state, Result: r.result, PID: r.pid, Since: r.since,
			Restarts: r.restarts, Hash: r.def.Hash, LastExit: r.lastExit,
		})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}
