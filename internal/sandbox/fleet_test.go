package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
)

// Tests with real hosts use 127.0.0.200-230; other packages use lower ones.
const (
	fleetTestAddress = 200 // and 201
	crashTestAddress = 210
)

// TestFleet walks one two-host fleet through what the provider relies on.
// The subtests build on each other and run in order.
func TestFleet(t *testing.T) {
	f := upFleet(t, 2, fleetTestAddress)
	host1, host2 := f.Hosts[0], f.Hosts[1]

	t.Run("fleet is recorded", func(t *testing.T) {
		loaded, err := Load(f.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded.Hosts) != 2 || loaded.Hosts[1].Address != "127.0.0.201" || loaded.ClientPublicKey != f.ClientPublicKey {
			t.Fatalf("fleet.json: %+v", loaded)
		}
		for _, h := range f.Hosts {
			if len(h.HostKeys) != 2 || !strings.HasPrefix(h.HostKeys[0], "ssh-ed25519 ") || !strings.HasPrefix(h.HostKeys[1], "ssh-rsa ") {
				t.Errorf("%s host keys: %q", h.Name, h.HostKeys)
			}
		}
	})

	t.Run("nix over ssh", func(t *testing.T) {
		for _, h := range f.Hosts {
			if out := mustSSH(t, h, "nix-store", "--version"); !strings.Contains(out, "nix-store (Nix)") {
				t.Errorf("%s: nix-store --version said %q", h.Name, out)
			}
		}
	})

	t.Run("each host key can be pinned alone", func(t *testing.T) {
		ed25519Key, rsaKey := host1.HostKeys[0], host1.HostKeys[1]
		for _, c := range []struct {
			name       string
			key        string
			algorithms []string
		}{
			{"ed25519", ed25519Key, []string{"ssh-ed25519"}},
			{"rsa", rsaKey, []string{"rsa-sha2-512"}},
		} {
			if out, err := dialPinned(host1, c.key, c.algorithms); err != nil || strings.TrimSpace(out) != "pinned-ok" {
				t.Errorf("%s: %q, %v", c.name, out, err)
			}
		}
		onlyRSA := knownHosts(t, host1, rsaKey)
		ssh := sshCommand(testContext(t), host1, onlyRSA, []string{"-o", "HostKeyAlgorithms=rsa-sha2-512"}, "true")
		if out, err := ssh.CombinedOutput(); err != nil {
			t.Errorf("/usr/bin/ssh pinning only RSA: %v: %s", err, out)
		}
	})

	t.Run("another host's key is refused", func(t *testing.T) {
		if _, err := dialPinned(host1, host2.HostKeys[0], []string{"ssh-ed25519"}); err == nil {
			t.Fatal("host1 accepted while pinning host2's key")
		}
		ssh := sshCommand(testContext(t), host1, knownHosts(t, host1, host2.HostKeys...), nil, "true")
		if err := ssh.Run(); err == nil {
			t.Fatal("/usr/bin/ssh accepted host1 with host2's keys in known_hosts")
		}
	})

	t.Run("marks itself as a sandbox host", func(t *testing.T) {
		out := mustSSH(t, host1, "cat", "/etc/fediversity/sandbox-host")
		if !strings.Contains(out, "sandbox=1\n") || !strings.Contains(out, "name=host1\n") {
			t.Fatalf("marker: %q", out)
		}
	})

	t.Run("own nix store", func(t *testing.T) {
		testOwnStore(t, host1, host2)
	})

	t.Run("own /etc/fediversity", func(t *testing.T) {
		mustSSH(t, host1, "echo written-in-host1 > /etc/fediversity/probe")
		if _, err := os.Stat("/etc/fediversity/probe"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("host1's file is visible on the machine: %v", err)
		}
		if _, err := runSSH(t, host2, nil, "test", "!", "-e", "/etc/fediversity/probe"); err != nil {
			t.Errorf("host1's file is visible on host2: %v", err)
		}
		data, err := os.ReadFile(filepath.Join(host1.StateDir, etcFediversityDir, "probe"))
		if err != nil || string(data) != "written-in-host1\n" {
			t.Errorf("host1's state dir has %q, %v", data, err)
		}
	})

	t.Run("Exec runs in the host's namespace", func(t *testing.T) {
		out, err := host1.Exec(testContext(t), "cat", "/etc/fediversity/probe").Output()
		if err != nil || string(out) != "written-in-host1\n" {
			t.Fatalf("Exec: %q, %v", out, err)
		}
		ns, err := host1.Exec(testContext(t), "readlink", "/proc/self/ns/mnt").Output()
		if err != nil || strings.TrimSpace(string(ns)) == mountns.Current() {
			t.Fatalf("Exec ran in namespace %q (machine: %s), %v", ns, mountns.Current(), err)
		}
	})

	t.Run("no mounts on the machine", func(t *testing.T) {
		if mounts, err := mountsUnder(f.Dir); err != nil || len(mounts) > 0 {
			t.Fatalf("mounts under %s on the machine: %v, %v", f.Dir, mounts, err)
		}
	})

	t.Run("stop and start keep keys and state", func(t *testing.T) {
		testStopStart(t, f, host1, host2)
	})

	t.Run("down leaves nothing", func(t *testing.T) {
		records := []record{hostRecord(t, host1), hostRecord(t, host2)}
		var running []mountns.Process
		for _, r := range records {
			running = append(running, r.processes()...)
		}
		if len(running) < 2 {
			t.Fatalf("before Down: processes %v", running)
		}
		left, err := Leftovers(f.Dir)
		if err != nil || !strings.Contains(strings.Join(left, "\n"), "(sshd) listens on 127.0.0.200:22") {
			t.Errorf("Leftovers of a running fleet: %q, %v", left, err)
		}
		downClean(t, f.Dir)
		for _, h := range f.Hosts {
			if netstat.Listening(h.Address, h.Port) {
				t.Errorf("%s still listens", h.Name)
			}
		}
		for _, p := range running {
			if p.Alive() {
				t.Errorf("%v survives Down", p)
			}
		}
		for _, r := range records {
			if procs := r.processes(); len(procs) > 0 {
				t.Errorf("left in %s's namespace %s: %v", r.Name, r.MountNS, procs)
			}
		}
		downClean(t, f.Dir) // twice is fine
	})
}

// testOwnStore exports a fresh path from the machine's store into host1
// over SSH and checks it is valid there and only there.
func testOwnStore(t *testing.T, host1, host2 Host) {
	file := filepath.Join(t.TempDir(), "sandbox-probe.txt")
	if err := os.WriteFile(file, []byte("probe "+randomID()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := strings.TrimSpace(machineNix(t, nil, "nix-store", "--add", file))
	t.Cleanup(func() { machineNix(t, nil, "nix-store", "--delete", path) })

	if _, err := runSSH(t, host1, nil, "nix-store", "--check-validity", path); err == nil {
		t.Fatalf("%s is valid on host1 before the import", path)
	}
	closure := strings.Fields(machineNix(t, nil, "nix-store", "-qR", path))
	export := machineNix(t, nil, append([]string{"nix-store", "--export"}, closure...)...)
	if out, err := runSSH(t, host1, strings.NewReader(export), "nix-store", "--import"); err != nil || strings.TrimSpace(out) != path {
		t.Fatalf("import into host1: %q, %v", out, err)
	}
	if _, err := runSSH(t, host1, nil, "nix-store", "--check-validity", path); err != nil {
		t.Errorf("not valid on host1 after import: %v", err)
	}
	if _, err := runSSH(t, host2, nil, "nix-store", "--check-validity", path); err == nil {
		t.Errorf("%s is valid on host2, which never imported it", path)
	}
	if _, err := os.Stat(filepath.Join(host1.StateDir, path)); err != nil {
		t.Errorf("not in host1's own /nix: %v", err)
	}
}

func testStopStart(t *testing.T, f *Fleet, host1, host2 Host) {
	ctx := testContext(t)
	mustSSH(t, host1, "touch /tmp/before-reboot")
	if err := f.StopHost(ctx, "host1"); err != nil {
		t.Fatal(err)
	}
	if netstat.Listening(host1.Address, host1.Port) {
		t.Error("host1 still listens after StopHost")
	}
	if err := host1.Exec(ctx, "true").Run(); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Exec on a stopped host: %v", err)
	}
	mustSSH(t, host2, "true") // the other host is untouched

	if err := f.StartHost(ctx, "host1"); err != nil {
		t.Fatal(err)
	}
	if err := f.StartHost(ctx, "host1"); err == nil {
		t.Error("StartHost on a running host succeeded")
	}
	// The same known_hosts still works: the keys did not change.
	if out := mustSSH(t, host1, "cat", "/etc/fediversity/probe"); out != "written-in-host1\n" {
		t.Errorf("/etc/fediversity after restart: %q", out)
	}
	if _, err := runSSH(t, host1, nil, "test", "!", "-e", "/tmp/before-reboot"); err != nil {
		t.Errorf("/tmp survived the restart: %v", err)
	}
	keys, err := readHostKeys(host1.StateDir)
	if err != nil || !slices.Equal(keys, host1.HostKeys) {
		t.Errorf("host keys after restart: %q, %v", keys, err)
	}
}

// TestUpCleansCrashedFleet kills a host's sshd with SIGKILL while a session
// and a detached command still run in its namespace, then runs Up again in
// the same dir: nothing of the first fleet may survive.
func TestUpCleansCrashedFleet(t *testing.T) {
	f := upFleet(t, 1, crashTestAddress)
	h := f.Hosts[0]
	before := hostRecord(t, h)

	session := sshCommand(testContext(t), h, knownHosts(t, h, h.HostKeys...), nil, "sleep", "1000")
	if err := session.Start(); err != nil {
		t.Fatal(err)
	}
	sessionDone := make(chan error, 1)
	go func() { sessionDone <- session.Wait() }()
	t.Cleanup(func() { _ = session.Process.Kill() })
	mustSSH(t, h, "nohup sleep 1001 >/dev/null 2>&1 </dev/null &")
	waitFor(t, "two sleeps in the host", func() bool { return countComm(before.processes(), "sleep") == 2 },
		func() string { return fmt.Sprint(before.processes()) })
	crashed := before.processes()

	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sshd to die", func() bool { return !before.LauncherAlive() }, nil)
	if left, _ := Leftovers(f.Dir); len(left) == 0 {
		t.Fatal("Leftovers sees nothing of the crashed host")
	}

	again, err := Up(testContext(t), Options{Dir: f.Dir, Hosts: 1, FirstAddress: crashTestAddress})
	if err != nil {
		t.Fatal(err)
	}
	// Compared by pid and start time: the new host's namespace may well
	// reuse the inode number of the crashed one.
	for _, p := range crashed {
		if p.Alive() {
			t.Errorf("%v of the crashed host survives Up", p)
		}
	}
	t.Logf("namespace before %s, after %s", before.MountNS, hostRecord(t, again.Hosts[0]).MountNS)
	select {
	case err := <-sessionDone:
		t.Logf("the crashed host's SSH session ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Error("the crashed host's SSH session is still open")
	}
	if out := mustSSH(t, again.Hosts[0], "nix-store", "--version"); !strings.Contains(out, "Nix") {
		t.Errorf("new host: %q", out)
	}
}

func countComm(procs []mountns.Process, comm string) int {
	n := 0
	for _, p := range procs {
		if p.Comm == comm {
			n++
		}
	}
	return n
}

// TestStopHostKillsAllItsProcesses checks that a process started with Exec
// and a process tree in a nested mount namespace (as a container would
// make), which ignores SIGTERM and outlives its SSH session's sshd, belong
// to the host and go with it.
func TestStopHostKillsAllItsProcesses(t *testing.T) {
	f := upFleet(t, 1, crashTestAddress+1)
	h := f.Hosts[0]
	sleeper := h.Exec(testContext(t), "sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	sleeperDone := make(chan error, 1)
	go func() { sleeperDone <- sleeper.Wait() }()
	nested := sshCommand(testContext(t), h, knownHosts(t, h, h.HostKeys...), nil,
		`unshare --mount --fork sh -c 'trap "" TERM; while :; do sleep 1; done'`)
	if err := nested.Start(); err != nil {
		t.Fatal(err)
	}
	nestedDone := make(chan error, 1)
	go func() { nestedDone <- nested.Wait() }()
	t.Cleanup(func() { _ = nested.Process.Kill() })

	r := hostRecord(t, h)
	var procs []mountns.Process
	waitFor(t, "the Exec'd sleep and the nested tree in the host", func() bool {
		procs = r.processes()
		return countComm(procs, "sleep") >= 1 && countComm(procs, "unshare") == 1 && countComm(procs, "sh") == 1
	}, func() string { return fmt.Sprint(procs) })
	if err := f.StopHost(testContext(t), h.Name); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v outlived StopHost", p)
		}
	}
	for name, done := range map[string]chan error{"Exec'd sleep": sleeperDone, "ssh session": nestedDone} {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Errorf("%s ended with %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s still runs after StopHost", name)
		}
	}
}
