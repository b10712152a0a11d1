package sandbox

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

// killHost ends every process of a host, like the first half of a reboot:
// SIGTERM, a grace period, then SIGKILL. Once the last process is gone the
// kernel frees the namespace and with it all of the host's mounts.
//
// Processes are found by namespace and ancestry (see hostProcesses), so one
// that makes its own namespace is lost from sight if its parent dies first.
// Hence everything is frozen before any signal that can end it, and every
// process seen is remembered by identity until it is gone.
func killHost(r record) error {
	seen := map[int]process{}
	remember := func(procs []process) {
		for _, p := range procs {
			seen[p.pid] = p
		}
	}
	remember(freeze(r))
	signalAll(seen, syscall.SIGTERM)
	signalAll(seen, syscall.SIGCONT)
	for deadline := time.Now().Add(termGrace); time.Now().Before(deadline) && anyAlive(seen); {
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(killTimeout); ; time.Sleep(50 * time.Millisecond) {
		remember(freeze(r)) // anything started during the grace period
		if !anyAlive(seen) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: processes survive SIGKILL: %v", r.Name, aliveOnes(seen))
		}
		signalAll(seen, syscall.SIGKILL)
	}
}

// freeze stops every process of the host with SIGSTOP and rescans until it
// finds none it has not stopped, so that nothing forks out of sight while
// the host is being ended. It returns the processes it stopped.
func freeze(r record) []process {
	stopped := map[int]process{}
	for round := 0; round < 100; round++ {
		var fresh []process
		for _, p := range hostProcesses(r) {
			if _, done := stopped[p.pid]; !done {
				fresh = append(fresh, p)
				stopped[p.pid] = p
			}
		}
		if len(fresh) == 0 {
			break
		}
		for _, p := range fresh {
			_ = syscall.Kill(p.pid, syscall.SIGSTOP)
		}
		awaitStopped(fresh)
	}
	var procs []process
	for _, p := range stopped {
		procs = append(procs, p)
	}
	return procs
}

// awaitStopped waits briefly until the processes no longer run: a signal
// takes effect asynchronously, and a process may still fork until then.
func awaitStopped(procs []process) {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		running := false
		for _, p := range procs {
			st, err := readProcStat(p.pid)
			if err == nil && st.startTime == p.startTime && st.state != 'T' && st.state != 't' && st.state != 'Z' && st.state != 'X' {
				running = true
			}
		}
		if !running {
			return
		}
	}
}

func signalAll(procs map[int]process, sig syscall.Signal) {
	for _, p := range procs {
		if p.alive() {
			_ = syscall.Kill(p.pid, sig)
		}
	}
}

func anyAlive(procs map[int]process) bool {
	return len(aliveOnes(procs)) > 0
}

func aliveOnes(procs map[int]process) []process {
	var alive []process
	for _, p := range procs {
		if p.alive() {
			alive = append(alive, p)
		}
	}
	return alive
}
