package activate

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/nixpkgs"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// Environment of the inner test, set by the outer one.
const (
	envSystemA = "STANDIN_E2E_SYSTEM_A"
	envSystemB = "STANDIN_E2E_SYSTEM_B"
	envDir     = "STANDIN_E2E_DIR"
)

// namespaceScript gives the inner test what a sandbox host has: its own
// /run, /var and a writable overlay of /etc, in a private mount namespace.
const namespaceScript = `set -eu
dir=$1; shift
mount -n -t tmpfs -o mode=0755 e2e-run /run
mount -n --bind "$dir/var" /var
mount -n -t tmpfs -o mode=0755 e2e-etc "$dir/etc-layer"
mkdir "$dir/etc-layer/upper" "$dir/etc-layer/work"
mount -n -t overlay e2e-etc -o "lowerdir=/etc,upperdir=$dir/etc-layer/upper,workdir=$dir/etc-layer/work" /etc
exec "$@"
`

// requireE2E skips (or, on CI, fails) when this machine cannot run real
// systems: root, Nix, unshare and Debian's PostgreSQL 15 are needed.
func requireE2E(t *testing.T) {
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

// TestNixBuiltSystemsSwitch builds two systems with the stand-in nixpkgs
// (PostgreSQL with a database and user, and the example app, whose
// settings differ between them), then switches a private namespace to
// them: see TestInsideNamespace.
func TestNixBuiltSystemsSwitch(t *testing.T) {
	requireE2E(t)
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "nixpkgs")
	if err := nixpkgs.Install(tree); err != nil {
		t.Fatal(err)
	}
	a := buildSystem(t, tree, self, "{ }")
	b := buildSystem(t, tree, self, "({ lib, ... }: { services.fediversity-standin-example.settings.port = lib.mkForce 8081; })")
	prepareHostDirs(t, dir)

	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", namespaceScript, "sh", dir, self, "-test.run", "^TestInsideNamespace$", "-test.v", "-test.count=1")
	cmd.Env = append(withoutRoot(os.Environ()), envSystemA+"="+a, envSystemB+"="+b, envDir+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("inside the namespace:\n%s", out)
	stopLeftoverDaemon(dir)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestInsideNamespace")) {
		t.Fatalf("the test inside the namespace failed: %v", err)
	}
}

// buildSystem builds the stand-in nixpkgs' example system (PostgreSQL with
// a database owned by its user, the example app, an /etc link and an /etc
// copy with a mode) with one more module.
func buildSystem(t *testing.T, tree, standin, module string) string {
	t.Helper()
	example, err := filepath.Abs("../../sandbox/nixpkgs/testdata/example-system.nix")
	if err != nil {
		t.Fatal(err)
	}
	expr := `(import <nixpkgs/nixos/lib/eval-config.nix> {
		system = "x86_64-linux";
		modules = [ ` + example + ` ` + module + ` ];
	}).config.system.build.toplevel`
	cmd := exec.Command("nix-build", "--no-out-link", "-E", expr)
	cmd.Env = append(os.Environ(),
		"NIX_PATH=nixpkgs="+tree+":fediversity-standin="+standin,
		"NIX_CONFIG=substituters =\nsandbox = false\nbuild-users-group =\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-build: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func prepareHostDirs(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"var/lib", "var/log", "var/cache", "var/empty", "var/tmp", "etc-layer"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/run", filepath.Join(dir, "var/run")); err != nil {
		t.Fatal(err)
	}
}

func withoutRoot(env []string) []string {
	var kept []string
	for _, e := range env {
		if !strings.HasPrefix(e, supervisor.RootEnv+"=") {
			kept = append(kept, e)
		}
	}
	return kept
}

// stopLeftoverDaemon ends a supervisor the inner test could not shut down
// (it stops its units on SIGTERM), so nothing outlives the test.
func stopLeftoverDaemon(dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "daemon.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// TestInsideNamespace runs only inside TestNixBuiltSystemsSwitch's namespace.
func TestInsideNamespace(t *testing.T) {
	a, b := os.Getenv(envSystemA), os.Getenv(envSystemB)
	if a == "" {
		t.Skip("run by TestNixBuiltSystemsSwitch, inside a private mount namespace")
	}
	paths := supervisor.Paths{}
	client := supervisor.NewClient(paths)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := client.Shutdown(ctx); err != nil {
			t.Errorf("shutting the supervisor down: %v", err)
		}
	})

	switchSystem(t, a)
	recordDaemonPID(t, paths)
	first := statusByName(t, client)
	for _, u := range []string{"postgresql", "postgresql-setup", "fediversity-standin-example"} {
		if first[u].State != supervisor.StateActive {
			t.Fatalf("%s is %s after the first switch", u, first[u].State)
		}
	}
	checkDatabase(t)
	checkEtc(t)
	checkApp(t)
	if target, _ := os.Readlink("/run/current-system"); target != a {
		t.Errorf("/run/current-system -> %q, want %s", target, a)
	}

	switchSystem(t, a)
	again := statusByName(t, client)
	for name, u := range first {
		if again[name].PID != u.PID || !again[name].Since.Equal(u.Since) {
			t.Errorf("switching to the same system restarted %s", name)
		}
	}

	switchSystem(t, b)
	changed := statusByName(t, client)
	if changed["fediversity-standin-example"].PID == first["fediversity-standin-example"].PID {
		t.Error("the app whose settings changed was not restarted")
	}
	if changed["postgresql"].PID != first["postgresql"].PID {
		t.Error("PostgreSQL was restarted though its unit did not change")
	}
}

func switchSystem(t *testing.T, system string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(system, "bin/switch-to-configuration"), "switch").CombinedOutput()
	t.Logf("switch to %s:\n%s", system, out)
	if err != nil {
		t.Fatalf("switch-to-configuration: %v", err)
	}
}

func recordDaemonPID(t *testing.T, paths supervisor.Paths) {
	data, err := os.ReadFile(paths.DaemonLock())
	if err == nil {
		_ = os.WriteFile(filepath.Join(os.Getenv(envDir), "daemon.pid"), data, 0o644)
	}
}

func statusByName(t *testing.T, client supervisor.Client) map[string]supervisor.UnitStatus {
	t.Helper()
	units, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]supervisor.UnitStatus{}
	for _, u := range units {
		byName[u.Name] = u
	}
	return byName
}

func checkDatabase(t *testing.T) {
	t.Helper()
	out, err := exec.Command("runuser", "-u", "postgres", "--", "psql", "-h", "/run/postgresql", "-d", "postgres", "-tAc",
		"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'example'").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "example" {
		t.Errorf("database example owned by example: %v %q", err, out)
	}
}

func checkEtc(t *testing.T) {
	t.Helper()
	if data, err := os.ReadFile("/etc/example/motd"); err != nil || string(data) != "hello\n" {
		t.Errorf("/etc/example/motd: %q %v", data, err)
	}
	if target, _ := os.Readlink("/etc/example/motd"); target != "/etc/static/example/motd" {
		t.Errorf("/etc/example/motd links to %q", target)
	}
	if fi, err := os.Lstat("/etc/example/secret"); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o440 {
		t.Errorf("/etc/example/secret: %v %v, want a 0440 copy", fi, err)
	}
}

func checkApp(t *testing.T) {
	t.Helper()
	appUser, err := user.Lookup("fediversity-example")
	if err != nil {
		t.Fatalf("activation did not create the app's user: %v", err)
	}
	started := "/var/lib/fediversity-standin-example/started"
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(started)
		if err == nil {
			if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != appUser.Uid {
				t.Errorf("the app wrote as uid %s, want %s", uid, appUser.Uid)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not start in its state directory: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
