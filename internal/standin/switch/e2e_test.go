package activate

import (
	"bytes"
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
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// Environment of the inner test, set by the outer one.
const (
	envSystemA = "STANDIN_E2E_SYSTEM_A"
	envSystemB = "STANDIN_E2E_SYSTEM_B"
)

// TestNixBuiltSystemsSwitch builds two systems with the stand-in nixpkgs
// (PostgreSQL with a database and user, and the example app, whose
// settings differ between them), then switches a private namespace to
// them: see TestInsideNamespace.
func TestNixBuiltSystemsSwitch(t *testing.T) {
	hostns.Require(t)
	host := hostns.New(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(t.TempDir(), "nixpkgs")
	if err := nixpkgs.Install(tree); err != nil {
		t.Fatal(err)
	}
	a := buildSystem(t, tree, self, "{ }")
	b := buildSystem(t, tree, self, "({ lib, ... }: { services.fediversity-standin-example.settings.port = lib.mkForce 8081; })")
	host.Run(t, "TestInsideNamespace", envSystemA+"="+a, envSystemB+"="+b)
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

// TestInsideNamespace runs only inside TestNixBuiltSystemsSwitch's namespace.
func TestInsideNamespace(t *testing.T) {
	a, b := os.Getenv(envSystemA), os.Getenv(envSystemB)
	if !hostns.Inside() || a == "" {
		t.Skip("run by TestNixBuiltSystemsSwitch, inside a private mount namespace")
	}

	hostns.Switch(t, a)
	first := hostns.Units(t)
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

	hostns.Switch(t, a)
	again := hostns.Units(t)
	for name, u := range first {
		if again[name].PID != u.PID || !again[name].Since.Equal(u.Since) {
			t.Errorf("switching to the same system restarted %s", name)
		}
	}

	hostns.Switch(t, b)
	changed := hostns.Units(t)
	if changed["fediversity-standin-example"].PID == first["fediversity-standin-example"].PID {
		t.Error("the app whose settings changed was not restarted")
	}
	if changed["postgresql"].PID != first["postgresql"].PID {
		t.Error("PostgreSQL was restarted though its unit did not change")
	}
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
