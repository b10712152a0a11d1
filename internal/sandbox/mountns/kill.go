package mountns

import (
	"fmt"
	"syscall"
	"time"
)

// How long processes get to exit on SIGTERM before SIGKILL, and overall.
const (
	termGrace   = 2 * time.Second
	killTimeout = 10 * time.Second
)

// Kill ends every process of the launches, like the first half of a
// reboot: SIGTERM, a grace period, then SIGKILL. Once the last process of
// a namespace is gone the kernel frees it and with it all of its mounts.
//
// Processes are found by namespace and ancestry (see Processes), so one
// that makes its own namespace is lost from sight if its parent dies first.
// Hence everything is frozen before any signal that can end it, and every
// process seen is remembered by identity until it is gone.
func Kill(launches ...Launch) error {
	seen := map[int]Process{}
	remember := func(procs []Process) {
		for _, p := range procs {
			seen[p.PID] = p
		}
	}
	remember(freeze(launches))
	signalAll(seen, syscall.SIGTERM)
	signalAll(seen, syscall.SIGCONT)
	for deadline := time.Now().Add(termGrace); time.Now().Before(deadline) && anyAlive(seen); {
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(killTimeout); ; time.Sleep(50 * time.Millisecond) {
		remember(freeze(launches)) // anything started during the grace period
		if !anyAlive(seen) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes survive SIGKILL: %v", aliveOnes(seen))
		}
		signalAll(seen, syscall.SIGKILL)
	}
}

// freeze stops every process of the launches with SIGSTOP and rescans
// until it finds none it has not stopped, so that nothing forks out of
// sight meanwhile. It returns the processes it stopped.
func freeze(launches []Launch) []Process {
	stopped := map[int]Process{}
	for round := 0; round < 100; round++ {
		var fresh []Process
		for _, p := range Processes(launches...) {
			if _, done := stopped[p.PID]; !done {
				fresh = append(fresh, p)
				stopped[p.PID] = p
			}
		}
		if len(fresh) == 0 {
			break
		}
		for _, p := range fresh {
			_ = syscall.Kill(p.PID, syscall.SIGSTOP)
		}
		awaitStopped(fresh)
	}
	procs := make([]Process, 0, len(stopped))
	for _, p := range stopped {
		procs = append(procs, p)
	}
	return procs
}

// awaitStopped waits briefly until the processes no longer run: a signal
// takes effect asynchronously, and a process may still fork until then.
func awaitStopped(procs []Process) {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		running := false
		for _, p := range procs {
			st, err := readStat(p.PID)
			if err == nil && st.startTime == p.StartTime && st.state != 'T' && st.state != 't' && st.state != 'Z' && st.state != 'X' {
				running = true
			}
		}
		if !running {
			return
		}
	}
}

func signalAll(procs map[int]Process, sig syscall.Signal) {
	for _, p := range procs {
		if p.Alive() {
			_ = syscall.Kill(p.PID, sig)
		}
	}
}

func anyAlive(procs map[int]Process) bool {
	return len(aliveOnes(procs)) > 0
}

func aliveOnes(procs map[int]Process) []Process {
	var alive []Process
	for _, p := range procs {
		if p.Alive() {
			alive = append(alive, p)
		}
	}
	return alive
}
