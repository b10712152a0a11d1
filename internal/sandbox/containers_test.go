package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/containers"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// containerTestAddress is the host of TestContainers.
const containerTestAddress = 220

// TestContainers drives NixOS containers on a sandbox host over SSH with
// the commands the provider uses on NixOS. The subtests build on each other
// and run in order.
func TestContainers(t *testing.T) {
	requireSandbox(t)
	hostns.Require(t) // PostgreSQL, runuser, nix-build
	began := time.Now()
	f := upStandinFleet(t, containerTestAddress)
	t.Logf("Up, with the build and activation of the base system: %s", time.Since(began))
	sh := newShell(t, f.Hosts[0])
	systems := sh.buildSystems()
	var ct1Address string

	t.Run("the base system puts its programs first on PATH", func(t *testing.T) {
		testBaseSystem(t, sh)
	})
	t.Run("create refuses bad names", func(t *testing.T) {
		for _, name := range []string{"abcdefghijkl", "Ct1", "1ct"} {
			if out, code := sh.run("nixos-container create " + name + " --system-path " + systems["ct1"]); code == 0 {
				t.Errorf("%s was created: %s", name, out)
			}
		}
	})
	t.Run("create and start", func(t *testing.T) {
		ct1Address = testCreateAndStart(t, sh, "ct1", systems["ct1"])
		if code := appHealth(t, ct1Address, 8080); code != http.StatusOK {
			t.Errorf("the app in ct1 answers %d", code)
		}
	})
	t.Run("reload restarts only the changed unit", func(t *testing.T) {
		testReload(t, sh, ct1Address, systems["ct1-moved"])
	})
	t.Run("reload exits 4 when a unit fails", func(t *testing.T) {
		sh.must("nix-env -p /nix/var/nix/profiles/per-container/ct1/system --set " + systems["ct1-broken"])
		if out, code := sh.run("systemctl reload container@ct1"); code != 4 || !strings.Contains(out, "broken") {
			t.Errorf("reload: exit %d, want 4:\n%s", code, out)
		}
	})
	t.Run("PostgreSQL in two containers and the host at once", func(t *testing.T) {
		testPostgresEverywhere(t, sh, systems)
	})
	t.Run("systemctl drives the host's units", func(t *testing.T) {
		testHostUnits(t, sh)
	})
	t.Run("stop and destroy leave nothing", func(t *testing.T) {
		testStopDestroy(t, sh, "ct2")
	})
	t.Run("a host restart stops its containers; they start again", func(t *testing.T) {
		testHostRestart(t, f, sh)
	})
	t.Run("Down ends running containers", func(t *testing.T) {
		testDownWithContainers(t, sh, f.Dir)
	})
	t.Logf("TestContainers took %s", time.Since(began))
}

func testBaseSystem(t *testing.T, sh shell) {
	if out := sh.must(`echo "$PATH"`); !strings.HasPrefix(out, "/run/current-system/sw/bin:") || !strings.Contains(out, ":/usr/bin") {
		t.Errorf("PATH in an SSH session: %q", out)
	}
	if out := sh.must("readlink /nix/var/nix/profiles/system; cat /etc/hostname"); out != "system-1-link\nhost1\n" {
		t.Errorf("base system: %q", out)
	}
	if out := sh.must("command -v nixos-container systemctl"); out != "/run/current-system/sw/bin/nixos-container\n/run/current-system/sw/bin/systemctl\n" {
		t.Errorf("programs: %q", out)
	}
	if out, code := sh.run("systemctl frobnicate x"); code == 0 || !strings.Contains(out, "Unknown command verb 'frobnicate'") {
		t.Errorf("unknown verb: exit %d, %q", code, out)
	}
}

// testCreateAndStart creates and starts a container and returns its address.
func testCreateAndStart(t *testing.T, sh shell, name, system string) string {
	out := sh.must("nixos-container create " + name + " --system-path " + system)
	m := regexp.MustCompile(`host IP is 127\.0\.0\.220, container IP is (127\.0\.\d+\.\d+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create said %q", out)
	}
	address := m[1]
	conf := sh.must("cat /etc/nixos-containers/" + name + ".conf; readlink -f /nix/var/nix/profiles/per-container/" + name + "/system; test -d /var/lib/nixos-containers/" + name + "/var && echo root")
	if want := "LOCAL_ADDRESS=" + address + "\n"; !strings.Contains(conf, want) || !strings.Contains(conf, system+"\nroot\n") {
		t.Errorf("after create: %q", conf)
	}
	if out, code := sh.run("nixos-container create " + name + " --system-path " + system); code == 0 || !strings.Contains(out, "already exists") {
		t.Errorf("second create: exit %d, %q", code, out)
	}
	if out := sh.must("nixos-container status " + name); out != "down\n" {
		t.Errorf("status before start: %q", out)
	}
	began := time.Now()
	sh.must("nixos-container start " + name)
	t.Logf("nixos-container start %s took %s", name, time.Since(began))
	if out := sh.must("nixos-container status " + name + "; nixos-container show-ip " + name); out != "up\n"+address+"\n" {
		t.Errorf("status and show-ip: %q, want up and %s", out, address)
	}
	return address
}

func testReload(t *testing.T, sh shell, address, moved string) {
	before := sh.units("ct1")
	sh.must("nix-env -p /nix/var/nix/profiles/per-container/ct1/system --set " + moved + " && systemctl reload container@ct1")
	after := sh.units("ct1")
	if after["fediversity-standin-example"].PID == before["fediversity-standin-example"].PID {
		t.Error("the changed app was not restarted")
	}
	if after["postgresql"].PID != before["postgresql"].PID || after["postgresql"].PID == 0 {
		t.Errorf("postgresql: pid %d before, %d after; it did not change", before["postgresql"].PID, after["postgresql"].PID)
	}
	if code := appHealth(t, address, 8081); code != http.StatusOK {
		t.Errorf("the moved app answers %d", code)
	}
	if code := appHealth(t, address, 8080); code != 0 {
		t.Errorf("the old port still answers %d", code)
	}
}

func testPostgresEverywhere(t *testing.T, sh shell, systems map[string]string) {
	testCreateAndStart(t, sh, "ct2", systems["ct2"])
	sh.must("nix-env -p /nix/var/nix/profiles/system --set " + systems["host"] + " && /nix/var/nix/profiles/system/bin/switch-to-configuration switch")
	const psql = "runuser -u postgres -- psql -h /run/postgresql -tA"
	sh.must("nixos-container run ct1 -- " + psql + ` -c "CREATE DATABASE only_in_ct1"`)
	query := psql + ` -c "SELECT count(*) FROM pg_database WHERE datname = 'only_in_ct1'"`
	for where, command := range map[string]string{
		"ct1":  "nixos-container run ct1 -- " + query,
		"ct2":  "nixos-container run ct2 -- " + query,
		"host": "cd / && " + query, // runuser keeps the cwd, root's home
	} {
		want := map[bool]string{true: "1\n", false: "0\n"}[where == "ct1"]
		if out := sh.must(command); out != want {
			t.Errorf("%s: the database only_in_ct1 counts %q, want %q", where, out, want)
		}
	}
	out := sh.must("systemctl is-active postgresql; nixos-container run ct1 -- systemctl is-active postgresql; nixos-container run ct2 -- systemctl is-active postgresql")
	if out != "active\nactive\nactive\n" {
		t.Errorf("postgresql on host, ct1, ct2: %q", out)
	}
}

func testHostUnits(t *testing.T, sh shell) {
	sh.must("systemctl stop postgresql.service")
	if out, code := sh.run("systemctl is-active postgresql"); code != 3 || out != "inactive\n" {
		t.Errorf("after stop: exit %d, %q", code, out)
	}
	sh.must("systemctl start postgresql && systemctl restart postgresql")
	if out, code := sh.run("systemctl is-active postgresql"); code != 0 || out != "active\n" {
		t.Errorf("after start: exit %d, %q", code, out)
	}
	if out, code := sh.run("systemctl reload postgresql"); code == 0 || !strings.Contains(out, "not applicable") {
		t.Errorf("reload of a host unit: exit %d, %q", code, out)
	}
}

func testStopDestroy(t *testing.T, sh shell, name string) {
	procs := containerProcesses(t, sh.h, name)
	if len(procs) < 3 {
		t.Fatalf("%s runs only %v", name, procs)
	}
	sh.must("nixos-container stop " + name)
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v survives stop", p)
		}
	}
	if out := sh.must("nixos-container status " + name + "; systemctl is-active container@" + name + " || true"); out != "down\ninactive\n" {
		t.Errorf("after stop: %q", out)
	}
	sh.must("nixos-container destroy " + name)
	left := sh.must("ls /etc/nixos-containers /var/lib/nixos-containers /nix/var/nix/profiles/per-container")
	if strings.Contains(left, name) {
		t.Errorf("after destroy:\n%s", left)
	}
	sh.must("nixos-container destroy " + name) // destroying none is fine
}

func testHostRestart(t *testing.T, f *Fleet, sh shell) {
	procs := containerProcesses(t, sh.h, "ct1")
	if err := f.StopHost(testContext(t), sh.h.Name); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v of ct1 survives StopHost", p)
		}
	}
	if err := f.StartHost(testContext(t), sh.h.Name); err != nil {
		t.Fatal(err)
	}
	if out := sh.must("nixos-container status ct1"); out != "down\n" {
		t.Errorf("ct1 after the host's restart: %q", out)
	}
	// ct1's system still has the failing unit: the container starts anyway.
	if out := sh.must("nixos-container start ct1 && nixos-container status ct1"); !strings.Contains(out, "ended with status 4") || !strings.HasSuffix(out, "up\n") {
		t.Errorf("start with a failing unit: %q", out)
	}
}

func testDownWithContainers(t *testing.T, sh shell, dir string) {
	procs := containerProcesses(t, sh.h, "ct1")
	left, err := Leftovers(dir)
	if err != nil || !strings.Contains(strings.Join(left, "\n"), "(postgres)") {
		t.Errorf("Leftovers of a host with a running container miss its postgres: %q, %v", left, err)
	}
	downClean(t, dir)
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v of ct1 survives Down", p)
		}
	}
}

// containerProcesses finds a container's processes from the machine.
func containerProcesses(t *testing.T, h Host, name string) []mountns.Process {
	t.Helper()
	for _, l := range containers.Launches(h.StateDir) {
		if l.Name == "container "+name {
			return l.Processes()
		}
	}
	t.Fatalf("no launch record of %s", name)
	return nil
}

// appHealth asks the example app for its health on the container's
// address; 0 means nothing answered.
func appHealth(t *testing.T, address string, port int) int {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet,
		"http://"+address+":"+strconv.Itoa(port)+"/.well-known/fediversity/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "ct1.test"
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "mastodon") {
		t.Errorf("health: %s", body)
	}
	return resp.StatusCode
}

// upStandinFleet brings up one host with the stand-in program, which gives
// it its base system, and always takes it down again.
func upStandinFleet(t *testing.T, address int) *Fleet {
	t.Helper()
	dir := t.TempDir()
	t.Cleanup(func() { downClean(t, dir) })
	f, err := Up(testContext(t), Options{Dir: dir, Hosts: 1, FirstAddress: address, StandinBinary: buildStandin(t)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// buildStandin builds the stand-in program, as the acceptance tests do.
func buildStandin(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "fediversity-standin")
	cmd := exec.CommandContext(testContext(t), "go", "build", "-o", binary, "github.com/fediversity/terraform-provider-fediversity/cmd/fediversity-standin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return binary
}

// shell runs scripts on a host over SSH as the provider does: /usr/bin/ssh
// with the fleet's key and the host's keys pinned.
type shell struct {
	t          *testing.T
	h          Host
	knownHosts string
}

func newShell(t *testing.T, h Host) shell {
	return shell{t: t, h: h, knownHosts: knownHosts(t, h, h.HostKeys...)}
}

// run returns the script's output (stdout and stderr) and exit status.
func (s shell) run(script string) (string, int) {
	s.t.Helper()
	out, err := sshCommand(testContext(s.t), s.h, s.knownHosts, nil, script).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	s.t.Fatalf("ssh %s: %v", script, err)
	return "", 0
}

// must returns the script's output and fails the test unless it succeeds.
func (s shell) must(script string) string {
	s.t.Helper()
	out, code := s.run(script)
	if code != 0 {
		s.t.Fatalf("%s: exit %d\n%s", script, code, out)
	}
	return out
}

// buildSystems builds testdata/container-systems.nix inside the host.
func (s shell) buildSystems() map[string]string {
	s.t.Helper()
	source, err := os.ReadFile("testdata/container-systems.nix")
	if err != nil {
		s.t.Fatal(err)
	}
	names := []string{"ct1", "ct1-moved", "ct1-broken", "ct2", "host"}
	script := "cat > /root/systems.nix <<'EOF'\n" + string(source) + "EOF\nnix-build --no-out-link /root/systems.nix"
	for _, n := range names {
		script += " -A " + n
	}
	began := time.Now()
	paths := strings.Fields(s.must(script + " 2>/dev/null"))
	s.t.Logf("building %d systems in the host took %s", len(names), time.Since(began))
	if len(paths) != len(names) {
		s.t.Fatalf("nix-build printed %q", paths)
	}
	systems := map[string]string{}
	for i, n := range names {
		systems[n] = paths[i]
	}
	return systems
}

// units returns a container's units by name, as its supervisor reports them.
func (s shell) units(name string) map[string]supervisor.UnitStatus {
	s.t.Helper()
	out := s.must("nixos-container run " + name + " -- /etc/" + standinInEtc + " supervise status --json")
	var report supervisor.StatusReport
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		s.t.Fatalf("status of %s: %v in %q", name, err, out)
	}
	byName := map[string]supervisor.UnitStatus{}
	for _, u := range report.Units {
		byName[u.Name] = u
	}
	return byName
}
