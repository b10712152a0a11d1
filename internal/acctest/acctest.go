// Package acctest is what every acceptance test of the provider shares: a
// fleet of sandbox hosts for the test binary, the provider factories, and
// the checks that decide whether acceptance tests can run at all.
package acctest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/fediversity/terraform-provider-fediversity/internal/provider"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
	"github.com/fediversity/terraform-provider-fediversity/internal/server"
)

// ProviderFactories runs the provider in the test process, served as the
// plugin binary serves it; every CLI command gets a fresh provider, as it
// would with a real plugin binary.
var ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"fediversity": func() (tfprotov6.ProviderServer, error) { return server.New(provider.New("test")()), nil },
}

var (
	fleet      *sandbox.Fleet
	standin    string // the stand-in program the sandbox hosts run
	realHosts  bool   // FEDIVERSITY_ACC_FLEET names real machines
	skipReason string
)

// Main brings up the sandbox fleet for a package's acceptance tests, runs
// them, tears the fleet down and fails if anything of it is left behind.
// Call it from TestMain with the number of hosts the package needs.
func Main(m *testing.M, hosts int) {
	os.Exit(run(m, hosts))
}

func run(m *testing.M, hosts int) int {
	if os.Getenv("TF_ACC") == "" {
		return m.Run()
	}
	if file := os.Getenv("FEDIVERSITY_ACC_FLEET"); file != "" {
		return runAgainstRealHosts(m, file)
	}
	if skipReason = missingRequirements(); skipReason != "" {
		if InCI() {
			fmt.Fprintf(os.Stderr, "acceptance tests cannot run in CI: %s\n", skipReason)
			return 1
		}
		return m.Run() // every PreCheck skips with the reason
	}
	dir := filepath.Join(os.TempDir(), "fediversity-acc-"+filepath.Base(os.Args[0]))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	var err error
	standin, err = buildStandin(ctx, dir)
	if err == nil {
		fleet, err = sandbox.Up(ctx, sandbox.Options{Dir: dir, Hosts: hosts, StandinBinary: standin})
	}
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bringing up sandbox hosts: %v\n", err)
		_ = sandbox.Down(dir)
		return 1
	}
	code := m.Run()
	return code + tearDown(dir)
}

// runAgainstRealHosts runs the acceptance tests against machines described
// in a file of the same shape as `fediversity-sandbox up` prints. Tests that
// inject faults into a sandbox host skip themselves (see SandboxOnly).
func runAgainstRealHosts(m *testing.M, file string) int {
	content, err := os.ReadFile(file)
	if err == nil {
		fleet = &sandbox.Fleet{}
		err = json.Unmarshal(content, fleet)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "FEDIVERSITY_ACC_FLEET: %v\n", err)
		return 1
	}
	realHosts = true
	return m.Run()
}

// buildStandin builds the stand-in program the hosts' NixOS runs, from this
// checkout, beside the fleet's dir.
func buildStandin(ctx context.Context, fleetDir string) (string, error) {
	out := fleetDir + "-fediversity-standin"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/fediversity/terraform-provider-fediversity/cmd/fediversity-standin")
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the stand-in program: %w\n%s", err, output)
	}
	return out, nil
}

func tearDown(dir string) int {
	if err := sandbox.Down(dir); err != nil {
		fmt.Fprintf(os.Stderr, "tearing down sandbox hosts: %v\n", err)
		return 1
	}
	left, err := sandbox.Leftovers(dir)
	if err != nil || len(left) > 0 {
		fmt.Fprintf(os.Stderr, "sandbox left behind after down: %v %s\n", err, strings.Join(left, "; "))
		return 1
	}
	return 0
}

// InCI reports whether this is a CI run, where skipping is not allowed.
func InCI() bool { return os.Getenv("CI") == "true" }

// missingRequirements says what keeps the sandbox from running here.
func missingRequirements() string {
	if err := sandbox.Requirements(); err != nil {
		return err.Error() + " (run `make test`, which installs what the sandbox needs)"
	}
	return ""
}

func missingCLI() string {
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" {
		return "TF_ACC_TERRAFORM_PATH is not set: run the tests with `make test`, which builds OpenTofu and points the tests at it"
	}
	if _, err := exec.LookPath(cli); err != nil {
		return fmt.Sprintf("TF_ACC_TERRAFORM_PATH=%s is not executable: %v", cli, err)
	}
	return ""
}

// PreCheck skips (or, in CI, fails) an acceptance test when sandbox hosts
// or the CLI cannot run here, and says why.
func PreCheck(t *testing.T) {
	t.Helper()
	HostPreCheck(t)
	CLIPreCheck(t)
}

// HostPreCheck is for tests that drive sandbox hosts without the CLI.
func HostPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does)")
	}
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// CLIPreCheck is for tests that need the CLI but no host (plan-time checks).
func CLIPreCheck(t *testing.T) {
	t.Helper()
	if reason := missingCLI(); reason != "" {
		if InCI() {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
}

// SandboxOnly skips a test that injects faults into a sandbox host when the
// tests run against real machines.
func SandboxOnly(t *testing.T) {
	t.Helper()
	if realHosts {
		t.Skip("injects faults into a sandbox host; FEDIVERSITY_ACC_FLEET names real machines")
	}
}

// ExpectedOS is what fediversity_host reports as os for the test hosts.
func ExpectedOS() string {
	if realHosts {
		return "nixos"
	}
	return "sandbox"
}

// Fleet returns the sandbox hosts of this test binary.
func Fleet(t *testing.T) *sandbox.Fleet {
	t.Helper()
	HostPreCheck(t)
	return fleet
}

// ProviderBlock is a provider configuration that authenticates with the
// fleet's client key; extra lines go inside the block.
func ProviderBlock(f *sandbox.Fleet, extra ...string) string {
	return ProviderBlockWithKey(f.ClientKeyPath, extra...)
}

// ProviderBlockWithKey is a provider configuration that authenticates with
// the private key at keyPath.
func ProviderBlockWithKey(keyPath string, extra ...string) string {
	return fmt.Sprintf("provider \"fediversity\" {\n  private_key_file = %q\n  %s\n}\n", keyPath, strings.Join(extra, "\n  "))
}
