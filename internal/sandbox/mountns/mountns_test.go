package mountns

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// launchScript makes a private /mnt holding the instance id, then leaves
// a process in the namespace and one in a namespace of its own, below it.
const launchScript = `mount -n -t tmpfs mountns-test /mnt
echo "$1" > /mnt/instance
unshare --mount sleep 1001 &
exec sleep 1000
`

func TestLaunchFindsAndKillsItsProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unsharing a mount namespace needs root")
	}
	l := Launch{Name: "test", Instance: "id-" + t.Name(), InstanceFile: "/mnt/instance"}
	record := filepath.Join(t.TempDir(), "launch.json")
	save := func() error { return WriteJSON(record, l) }
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", launchScript, "sh", l.Instance)
	exited, err := Start(cmd, &l, save)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Kill(l) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.AwaitUnshared(ctx, exited, save); err != nil {
		t.Fatal(err)
	}
	var procs []Process
	for deadline := time.Now().Add(10 * time.Second); !nested(procs, l.MountNS) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		procs = l.Processes()
	}
	if len(procs) != 2 || !nested(procs, l.MountNS) {
		t.Fatalf("processes of the launch: %v; want sleep 1000 and, in a namespace of its own, sleep 1001", procs)
	}
	if saved, err := ReadLaunch(record); err != nil || saved != l {
		t.Errorf("record: %+v, %v; want %+v", saved, err, l)
	}
	if pid, err := l.MemberPID(); err != nil || pid != l.PID {
		t.Errorf("MemberPID: %d, %v; want the launch process %d", pid, err, l.PID)
	}
	stale := l
	stale.Instance, stale.PID = "another launch", 0
	if found := stale.Processes(); len(found) > 0 {
		t.Errorf("a launch with another instance id finds %v", found)
	}
	if err := Kill(l); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v survives Kill", p)
		}
	}
}

// nested says whether one of procs runs in a namespace other than ns.
func nested(procs []Process, ns string) bool {
	for _, p := range procs {
		if got, err := Of(p.PID); err == nil && got != ns {
			return true
		}
	}
	return false
}
