package sandbox

import (
	"fmt"
	"os"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
)

// listenersAmong returns the processes among procs that hold a socket
// listening on address:port.
func listenersAmong(procs []mountns.Process, address string, port int) []mountns.Process {
	sockets := map[string]bool{}
	for _, l := range netstat.Listeners() {
		if l.On(address, port) {
			sockets["socket:["+l.Inode+"]"] = true
		}
	}
	var holders []mountns.Process
	for _, p := range procs {
		if len(sockets) > 0 && holdsAny(p.PID, sockets) {
			holders = append(holders, p)
		}
	}
	return holders
}

// holdsAny says whether one of the process's file descriptors is among the
// given link targets.
func holdsAny(pid int, targets map[string]bool) bool {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(fdDir)
	for _, e := range entries {
		if target, err := os.Readlink(fdDir + "/" + e.Name()); err == nil && targets[target] {
			return true
		}
	}
	return false
}
