// Package mountns finds and ends every process of one launch of a private
// mount namespace: a sandbox host on the machine, or a container inside a
// host. /proc is shared machine-wide, so a launch is known by what was
// recorded when it started (its launch process, its namespace, and a random
// instance id written inside the namespace) and its processes are those in
// its namespace plus all their descendants, even in namespaces of their own.
package mountns

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Process is a live process found in /proc.
type Process struct {
	PID       int
	Comm      string
	StartTime uint64 // clock ticks after boot; with the pid, a unique identity
}

func (p Process) String() string { return fmt.Sprintf("pid %d (%s)", p.PID, p.Comm) }

// Alive says whether the process still runs (not a later one with its pid).
func (p Process) Alive() bool {
	st, err := readStat(p.PID)
	return err == nil && st.state != 'Z' && st.startTime == p.StartTime
}

// Of returns a process's mount namespace identity, e.g. "mnt:[4026532201]";
// it fails once the process has exited.
func Of(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
}

// Current is the mount namespace of this process; a launch found from here
// never includes it.
func Current() string {
	ns, _ := Of(os.Getpid())
	return ns
}

// StartTime returns a process's start time, which tells it from a later
// process with the same pid.
func StartTime(pid int) (uint64, error) {
	st, err := readStat(pid)
	return st.startTime, err
}

// stat holds the fields of /proc/PID/stat this package needs.
type stat struct {
	comm      string
	state     byte
	ppid      int
	startTime uint64
}

func readStat(pid int) (stat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// The command name may contain spaces and parentheses: cut at the last ')'.
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return stat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[closing+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return stat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return stat{}, err
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return stat{}, err
	}
	return stat{comm: s[open+1 : closing], state: fields[0][0], ppid: ppid, startTime: start}, nil
}

// liveProcesses reads the stat of every process that has not exited.
func liveProcesses() map[int]stat {
	entries, _ := os.ReadDir("/proc")
	live := map[int]stat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.state != 'Z' { // zombies hold no namespace
			live[pid] = st
		}
	}
	return live
}

// hasAncestor says whether one of pid's ancestors is marked in set.
func hasAncestor(pid int, live map[int]stat, set map[int]bool) bool {
	for depth := 0; depth < len(live); depth++ { // bounded, in case of a torn read
		parent := live[pid].ppid
		if parent <= 1 {
			return false
		}
		if set[parent] {
			return true
		}
		pid = parent
	}
	return false
}

// Processes finds every live process of the launches: each launch process,
// anything in their namespaces (whatever became of its parent), and
// descendants of those even if they made namespaces of their own.
func Processes(launches ...Launch) []Process {
	own := Current()
	members := make([]func(int, stat) bool, len(launches))
	for i, l := range launches {
		members[i] = l.member(own)
	}
	live := liveProcesses()
	found := map[int]bool{}
	for pid, st := range live {
		for _, isMember := range members {
			if isMember(pid, st) {
				found[pid] = true
				break
			}
		}
	}
	var procs []Process
	for pid, st := range live {
		if found[pid] || hasAncestor(pid, live, found) {
			procs = append(procs, Process{pid, st.comm, st.startTime})
		}
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].PID < procs[j].PID })
	return procs
}

// All returns one live process of every mount namespace on the machine,
// by namespace: through /proc/PID/root, each shows that namespace's files.
// It is the one that started first (the oldest, such as a host's sshd), as
// a namespace busy with builds has many processes that end any moment, and
// one that ends takes /proc/PID/root with it.
func All() map[string]int {
	all, started := map[string]int{}, map[string]uint64{}
	for pid, st := range liveProcesses() {
		ns, err := Of(pid)
		if err != nil {
			continue
		}
		if first, seen := started[ns]; !seen || st.startTime < first || (st.startTime == first && pid < all[ns]) {
			all[ns], started[ns] = pid, st.startTime
		}
	}
	return all
}
