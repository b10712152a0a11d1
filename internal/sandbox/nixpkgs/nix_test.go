package nixpkgs

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nixConfig keeps Nix offline and builds unsandboxed, as on sandbox hosts.
const nixConfig = "substituters =\nsandbox = false\nbuild-users-group =\n"

// nixEnv runs Nix against a freshly installed copy of the stand-in nixpkgs,
// with a fake stand-in program (its content is all that matters to Nix).
type nixEnv struct {
	nixpkgs string
	standin string
}

func newNixEnv(t *testing.T) *nixEnv {
	t.Helper()
	if _, err := exec.LookPath("nix-instantiate"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nix-instantiate is not installed (Debian package nix-bin)")
		}
		t.Skip("nix-instantiate is not installed (Debian package nix-bin)")
	}
	dir := t.TempDir()
	n := &nixEnv{nixpkgs: filepath.Join(dir, "nixpkgs"), standin: filepath.Join(dir, "fediversity-standin")}
	if err := Install(n.nixpkgs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.standin, []byte("#!/bin/sh\n# a fake stand-in program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *nixEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(),
		"NIX_PATH=nixpkgs="+n.nixpkgs+":fediversity-standin="+n.standin,
		"NIX_CONFIG="+nixConfig,
	)
	return cmd
}

// testdataDir is passed to expressions as the argument `testdata`.
func testdataDir(t *testing.T) string {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// run evaluates or builds `{ testdata }: expr`.
func (n *nixEnv) run(t *testing.T, tool string, expr string, extra ...string) (string, string, error) {
	t.Helper()
	args := append([]string{tool, "--argstr", "testdata", testdataDir(t)}, extra...)
	cmd := n.command(append(args, "-E", "{ testdata }: "+expr)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSpace(stdout.String()), stderr.String(), err
}

// eval evaluates expr strictly into v (through JSON).
func (n *nixEnv) eval(t *testing.T, expr string, v any) {
	t.Helper()
	out, stderr, err := n.run(t, "nix-instantiate", expr, "--eval", "--strict", "--json")
	if err != nil {
		t.Fatalf("evaluating %s: %v\n%s", expr, err, stderr)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("evaluating %s: %v in %s", expr, err, out)
	}
}

// evalError evaluates expr, which must fail, and returns Nix's message.
func (n *nixEnv) evalError(t *testing.T, expr string) string {
	t.Helper()
	out, stderr, err := n.run(t, "nix-instantiate", expr, "--eval", "--strict", "--json")
	if err == nil {
		t.Fatalf("evaluating %s succeeded with %s; want an error", expr, out)
	}
	return stderr
}

// build builds expr and returns its store path.
func (n *nixEnv) build(t *testing.T, expr string) string {
	t.Helper()
	out, stderr, err := n.run(t, "nix-build", expr, "--no-out-link")
	if err != nil {
		t.Fatalf("building %s: %v\n%s", expr, err, stderr)
	}
	return out
}
