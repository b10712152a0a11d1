package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// process is a live process found in /proc.
type process struct {
	pid       int
	comm      string
	startTime uint64
}

func (p process) String() string { return fmt.Sprintf("pid %d (%s)", p.pid, p.comm) }

// mountNamespace returns a process's mount namespace identity, e.g.
// "mnt:[4026532201]"; it fails once the process has exited.
func mountNamespace(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
}

// machineNamespace is the mount namespace of this process, i.e. the
// machine's; a host's namespace must never be it.
func machineNamespace() string {
	ns, _ := mountNamespace(os.Getpid())
	return ns
}

// procStat holds the fields of /proc/PID/stat this package needs.
type procStat struct {
	comm      string
	state     byte
	ppid      int
	startTime uint64 // clock ticks after boot; with the pid, a unique identity
}

func readProcStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name may contain spaces and parentheses: cut at the last ')'.
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[closing+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return procStat{}, err
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, err
	}
	return procStat{comm: s[open+1 : closing], state: fields[0][0], ppid: ppid, startTime: start}, nil
}

// alive says whether the process still runs (not a later one with its pid).
func (p process) alive() bool {
	st, err := readProcStat(p.pid)
	return err == nil && st.state != 'Z' && st.startTime == p.startTime
}

// allPIDs lists the processes currently in /proc.
func allPIDs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// launcherAlive says whether the recorded launch process (unshare, then the
// boot script, then sshd: one pid) still runs, not a later one reusing its pid.
func launcherAlive(r record) bool {
	if r.PID <= 0 {
		return false
	}
	st, err := readProcStat(r.PID)
	return err == nil && st.state != 'Z' && st.startTime == r.StartTime
}

// namespaceIsHost says whether a mount namespace is this launch of the host:
// its /run carries the launch's instance id. The inode alone is not enough
// after a crash: the kernel reuses the inode numbers of dead namespaces.
func namespaceIsHost(pid int, r record) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/root%s", pid, inHostInstance))
	return err == nil && strings.TrimSpace(string(data)) == r.Instance
}

// hostProcesses finds every live process of a host: the launch process,
// anything in the host's mount namespace (sshd sessions, commands started by
// them or by Host.Exec, whatever became of their parents), and descendants
// of those even if they made mount namespaces of their own.
func hostProcesses(r record) []process {
	hostNS := r.MountNS
	if hostNS == "" && launcherAlive(r) {
		hostNS, _ = mountNamespace(r.PID)
	}
	machine := machineNamespace()
	verified := map[string]bool{} // namespace → carries our instance id
	inHost := func(pid int, st procStat) bool {
		if pid == r.PID && st.startTime == r.StartTime {
			return true
		}
		ns, err := mountNamespace(pid)
		if err != nil || hostNS == "" || ns != hostNS || ns == machine {
			return false
		}
		if _, seen := verified[ns]; !seen {
			verified[ns] = namespaceIsHost(pid, r)
		}
		return verified[ns]
	}
	live := liveProcesses()
	found := map[int]bool{}
	for pid, st := range live {
		found[pid] = inHost(pid, st)
	}
	var procs []process
	for pid, st := range live {
		if found[pid] || hasAncestor(pid, live, found) {
			procs = append(procs, process{pid, st.comm, st.startTime})
		}
	}
	return procs
}

// liveProcesses reads the stat of every process that has not exited.
func liveProcesses() map[int]procStat {
	live := map[int]procStat{}
	for _, pid := range allPIDs() {
		if st, err := readProcStat(pid); err == nil && st.state != 'Z' { // zombies hold no namespace
			live[pid] = st
		}
	}
	return live
}

// hasAncestor says whether one of pid's ancestors is marked in set.
func hasAncestor(pid int, live map[int]procStat, set map[int]bool) bool {
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
