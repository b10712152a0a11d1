package activate

import (
	"sort"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// plan is what a switch does to the units, as NixOS's
// switch-to-configuration decides it: units that left the system or
// changed are stopped, changed and new ones started, unchanged running
// ones left alone.
type plan struct {
	stop    []string          // running units to stop, dependents first
	remove  map[string]bool   // units that left the system: forgotten once stopped
	start   []supervisor.Unit // units to start, dependencies first
	restart map[string]bool   // units of start that were stopped because they changed
	isNew   map[string]bool   // units of start the supervisor did not know
	kept    []string          // changed but left running (restartIfChanged = false)
}

func running(s supervisor.UnitStatus) bool {
	switch s.State {
	case supervisor.StateActive, supervisor.StateActivating, supervisor.StateDeactivating:
		return true
	}
	return false
}

// makePlan compares the next system's units with what the supervisor runs.
// A unit wanted by a target (autostart) that is not running — new, failed,
// or a finished oneshot — is started; units it requires or wants follow.
func makePlan(next []supervisor.Unit, current []supervisor.UnitStatus) plan {
	p := plan{remove: map[string]bool{}, restart: map[string]bool{}, isNew: map[string]bool{}}
	byName := map[string]supervisor.Unit{}
	for _, u := range next {
		byName[u.Name] = u
	}
	now := map[string]supervisor.UnitStatus{}
	stopping := map[string]bool{}
	for _, s := range current {
		now[s.Name] = s
		if _, stays := byName[s.Name]; !stays {
			p.remove[s.Name] = true
			if running(s) {
				stopping[s.Name] = true
			}
		}
	}
	starting := map[string]bool{}
	for _, u := range next {
		s, known := now[u.Name]
		changed := known && s.Hash != u.Hash
		switch {
		case known && running(s) && !changed:
		case known && running(s) && !u.RestartIfChanged:
			p.kept = append(p.kept, u.Name)
		case known && running(s):
			stopping[u.Name], starting[u.Name], p.restart[u.Name] = true, true, true
		case u.Autostart:
			starting[u.Name] = true
			p.isNew[u.Name] = !known
		}
	}
	addDependencies(starting, byName, now, p.isNew)
	p.start = orderByAfter(pick(byName, starting))
	p.stop = stopOrder(stopping, byName)
	sort.Strings(p.kept)
	return p
}

// addDependencies adds what units to start require or want, unless it
// already runs unchanged.
func addDependencies(starting map[string]bool, byName map[string]supervisor.Unit, now map[string]supervisor.UnitStatus, isNew map[string]bool) {
	queue := make([]string, 0, len(starting))
	for name := range starting {
		queue = append(queue, name)
	}
	for len(queue) > 0 {
		u := byName[queue[0]]
		queue = queue[1:]
		for _, dep := range append(append([]string{}, u.Requires...), u.Wants...) {
			d, defined := byName[dep]
			s, known := now[dep]
			if !defined || starting[dep] || (known && running(s) && s.Hash == d.Hash) {
				continue
			}
			starting[dep] = true
			isNew[dep] = !known
			queue = append(queue, dep)
		}
	}
}

func pick(byName map[string]supervisor.Unit, names map[string]bool) []supervisor.Unit {
	units := make([]supervisor.Unit, 0, len(names))
	for name := range names {
		units = append(units, byName[name])
	}
	return units
}

// stopOrder stops dependents before what they come after: the reverse of
// the start order. Units that left the system (no definition) go first.
func stopOrder(stopping map[string]bool, byName map[string]supervisor.Unit) []string {
	var gone []string
	var defined []supervisor.Unit
	for name := range stopping {
		if u, ok := byName[name]; ok {
			defined = append(defined, u)
		} else {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	order := orderByAfter(defined)
	for i := len(order) - 1; i >= 0; i-- {
		gone = append(gone, order[i].Name)
	}
	return gone
}

// orderByAfter sorts units so that each comes after the units it is
// ordered after (After=, or their Before=), ties by name. Units in a cycle
// keep name order, as systemd breaks cycles somewhere too.
func orderByAfter(units []supervisor.Unit) []supervisor.Unit {
	sort.Slice(units, func(i, j int) bool { return units[i].Name < units[j].Name })
	index := map[string]int{}
	for i, u := range units {
		index[u.Name] = i
	}
	blockers := make([]map[int]bool, len(units)) // i waits for each key
	for i, u := range units {
		blockers[i] = map[int]bool{}
		for _, a := range u.After {
			if j, ok := index[a]; ok && j != i {
				blockers[i][j] = true
			}
		}
		for _, b := range u.Before {
			if j, ok := index[b]; ok && j != i {
				blockers[j][i] = true
			}
		}
	}
	var order []supervisor.Unit
	placed := make([]bool, len(units))
	for len(order) < len(units) {
		next := -1
		for i := range units {
			if !placed[i] && allPlaced(blockers[i], placed) {
				next = i
				break
			}
		}
		if next < 0 { // a cycle: take the first unplaced unit
			for i := range units {
				if !placed[i] {
					next = i
					break
				}
			}
		}
		placed[next] = true
		order = append(order, units[next])
	}
	return order
}

func allPlaced(set map[int]bool, placed []bool) bool {
	for j := range set {
		if !placed[j] {
			return false
		}
	}
	return true
}
