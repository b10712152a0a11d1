package mountns

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Launch is what is recorded about one launch of a private mount namespace,
// so that its processes can be found later, even after a crash.
type Launch struct {
	Name string `json:"name"`
	// Instance is random per launch and written inside the namespace at
	// InstanceFile: the kernel reuses the inode numbers of dead namespaces,
	// so MountNS alone could name a later, unrelated one.
	Instance     string `json:"instance"`
	InstanceFile string `json:"instance_file,omitempty"`
	// PID and StartTime identify the launch process, which unshares.
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	// MountNS is the namespace, as readlink /proc/PID/ns/mnt.
	MountNS string `json:"mount_namespace"`
}

// LauncherAlive says whether the recorded launch process still runs, not a
// later one reusing its pid.
func (l Launch) LauncherAlive() bool {
	if l.PID <= 0 {
		return false
	}
	return Process{PID: l.PID, StartTime: l.StartTime}.Alive()
}

// Processes finds every live process of this launch.
func (l Launch) Processes() []Process { return Processes(l) }

// member returns the test of whether a process belongs to the launch
// itself (not counting descendants); own is the caller's namespace.
func (l Launch) member(own string) func(int, stat) bool {
	ns := l.MountNS
	if ns == "" && l.LauncherAlive() {
		ns, _ = Of(l.PID)
	}
	verified := map[string]bool{} // namespace → carries our instance id
	return func(pid int, st stat) bool {
		if pid == l.PID && st.startTime == l.StartTime {
			return true
		}
		got, err := Of(pid)
		if err != nil || ns == "" || got != ns || got == own {
			return false
		}
		if _, seen := verified[got]; !seen {
			verified[got] = l.carriesInstance(pid)
		}
		return verified[got]
	}
}

// carriesInstance says whether pid's namespace holds this launch's id.
func (l Launch) carriesInstance(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/root%s", pid, l.InstanceFile))
	return err == nil && l.InstanceFile != "" && strings.TrimSpace(string(data)) == l.Instance
}

// MemberPID finds a live process inside the launch's own namespace, to
// enter it with nsenter: the launch process when it lives.
func (l Launch) MemberPID() (int, error) {
	own := Current()
	for _, p := range append([]Process{{PID: l.PID, StartTime: l.StartTime}}, l.Processes()...) {
		if ns, err := Of(p.PID); err == nil && p.Alive() && ns == l.MountNS && ns != own {
			return p.PID, nil
		}
	}
	return 0, fmt.Errorf("%s is not running", l.Name)
}

// Start starts cmd, which is to unshare its mount namespace and write
// l.Instance to l.InstanceFile in it, and records its process in l. save
// persists l and is called before the start too, so that whatever a crash
// leaves can be found. The channel delivers cmd.Wait's result.
func Start(cmd *exec.Cmd, l *Launch, save func() error) (<-chan error, error) {
	if err := save(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reap it if it dies while we live
	l.PID = cmd.Process.Pid
	l.StartTime, _ = StartTime(l.PID)
	if err := save(); err != nil {
		_ = Kill(*l)
		return nil, err
	}
	return exited, nil
}

// AwaitUnshared waits until the launch process has left the caller's mount
// namespace, then records the new one in l and saves it.
func (l *Launch) AwaitUnshared(ctx context.Context, exited <-chan error, save func() error) error {
	own := Current()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ns, err := Of(l.PID); err == nil && ns != own && l.LauncherAlive() {
			l.MountNS = ns
			return save()
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited before it had a mount namespace of its own: %w", l.Name, err)
		case <-ctx.Done():
			return fmt.Errorf("%s did not unshare its mount namespace: %w", l.Name, ctx.Err())
		case <-tick.C:
		}
	}
}

// WriteJSON replaces a file with v as JSON atomically: a crash mid-write
// must not leave a launch's record unreadable.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadLaunch reads a launch record written by WriteJSON.
func ReadLaunch(path string) (Launch, error) {
	var l Launch
	data, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}
