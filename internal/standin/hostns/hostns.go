// Package hostns lets end-to-end tests switch Nix-built systems for real on
// this machine: an outer test re-runs the test binary, for one inner test,
// inside a private mount namespace that has what a sandbox host has (its
// own /run and /var, a writable overlay of /etc, and the sandbox-host
// marker naming a loopback address of its own), and reports its result.
package hostns

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// Environment of the inner test.
const (
	dirEnv     = "FEDIVERSITY_HOSTNS_DIR"
	addressEnv = "FEDIVERSITY_HOSTNS_ADDRESS"
)

// namespaceScript mounts the host's own /run, /var and /etc, writes its
// marker and runs the command. Arguments: dir address command...
const namespaceScript = `set -eu
dir=$1 address=$2; shift 2
mount -n -t tmpfs -o mode=0755 hostns-run /run
mount -n --bind "$dir/var" /var
mount -n -t tmpfs -o mode=0755 hostns-etc "$dir/etc-layer"
mkdir "$dir/etc-layer/upper" "$dir/etc-layer/work"
mount -n -t overlay hostns-etc -o "lowerdir=/etc,upperdir=$dir/etc-layer/upper,workdir=$dir/etc-layer/work" /etc
mkdir -p /etc/fediversity
printf 'sandbox=1\nname=hostns\naddress=%s\n' "$address" >/etc/fediversity/sandbox-host
exec "$@"
`

// Require skips (or, when CI=true, fails) unless this machine can switch
// real systems: root, Nix, unshare and Debian's PostgreSQL 15 are needed.
func Require(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"nix-build", "unshare", "runuser", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat("/usr/lib/postgresql/15/bin/postgres"); err != nil {
		missing = append(missing, "PostgreSQL 15 (Debian package postgresql-15)")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		missing = append(missing, "the postgres user")
	}
	if len(missing) == 0 {
		return
	}
	msg := "switching Nix-built systems needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Host is one prepared host directory.
type Host struct {
	Dir string
	// Address is the host's own loopback address (an unusual one, so that
	// it is free): its services listen there.
	Address string
}

// New prepares a host directory for one outer test.
func New(t *testing.T) *Host {
	t.Helper()
	h := &Host{
		Dir:     t.TempDir(),
		Address: fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(256), 1+rand.IntN(254)),
	}
	for _, d := range []string{"var/lib", "var/log", "var/cache", "var/empty", "var/tmp", "etc-layer"} {
		if err := os.MkdirAll(filepath.Join(h.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(h.Dir, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run", filepath.Join(h.Dir, "var/run")); err != nil {
		t.Fatal(err)
	}
	return h
}

// Run runs the test binary's test named inner inside the host, with env
// added, and fails unless it passed. A supervisor the inner test could not
// shut down is stopped, so nothing outlives the test.
func (h *Host) Run(t *testing.T, inner string, env ...string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", namespaceScript, "sh", h.Dir, h.Address, self, "-test.run", "^"+inner+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(withoutRoot(os.Environ()), dirEnv+"="+h.Dir, addressEnv+"="+h.Address), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("inside the host:\n%s", out)
	h.stopLeftoverSupervisor()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+inner)) {
		t.Fatalf("%s inside the host failed: %v", inner, err)
	}
}

// Inside says whether this is the inner test run (else it should skip).
func Inside() bool { return os.Getenv(dirEnv) != "" }

// Address is, inside, the host's own address.
func Address() string { return os.Getenv(addressEnv) }

// withoutRoot keeps the inner test's stand-in on the real /run and /var.
func withoutRoot(env []string) []string {
	var kept []string
	for _, e := range env {
		if !strings.HasPrefix(e, supervisor.RootEnv+"=") {
			kept = append(kept, e)
		}
	}
	return kept
}

func (h *Host) stopLeftoverSupervisor() {
	data, err := os.ReadFile(filepath.Join(h.Dir, "daemon.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGTERM) // it stops its units on SIGTERM
	}
}

// Switch switches, inside, to system. The first switch starts the
// supervisor: it is recorded for the outer test and shut down at the end
// of the inner one.
func Switch(t *testing.T, system string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(system, "bin/switch-to-configuration"), "switch").CombinedOutput()
	t.Logf("switch to %s:\n%s", system, out)
	record := filepath.Join(os.Getenv(dirEnv), "daemon.pid")
	if _, statErr := os.Stat(record); statErr != nil {
		paths := supervisor.Paths{}
		if data, readErr := os.ReadFile(paths.DaemonLock()); readErr == nil && os.WriteFile(record, data, 0o644) == nil {
			t.Cleanup(func() { shutdown(t, supervisor.NewClient(paths)) })
		}
	}
	if err != nil {
		t.Fatalf("switch-to-configuration: %v", err)
	}
}

func shutdown(t *testing.T, client supervisor.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if client.Running() {
		if err := client.Shutdown(ctx); err != nil {
			t.Errorf("shutting the supervisor down: %v", err)
		}
	}
}

// Units returns, inside, the supervisor's units by name.
func Units(t *testing.T) map[string]supervisor.UnitStatus {
	t.Helper()
	units, err := supervisor.NewClient(supervisor.Paths{}).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]supervisor.UnitStatus{}
	for _, u := range units {
		byName[u.Name] = u
	}
	return byName
}
