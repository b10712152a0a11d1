package activate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// fixture is one system root with its own supervisor, on which systems made
// up by the test (units.json and an activate script, no Nix) are switched.
type fixture struct {
	paths supervisor.Paths
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "sw") // short: the socket path must fit 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{paths: supervisor.Paths{Root: dir}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = fx.client().Shutdown(ctx)
		os.RemoveAll(dir)
	})
	return fx
}

func (fx *fixture) client() supervisor.Client { return supervisor.NewClient(fx.paths) }

// system writes a system with these units; its activate script appends a
// line to <root>/activations (after sleeping activateSleep seconds, when
// that file exists) and exits with <root>/activate-status, if any.
func (fx *fixture) system(t *testing.T, units ...supervisor.Unit) string {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(supervisor.UnitsFile{Version: 1, Units: units})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "units.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	activate := `#!/bin/sh
root=$FEDIVERSITY_STANDIN_ROOT
if test -e "$root/activate-sleep"; then sleep "$(cat "$root/activate-sleep")"; fi
echo "begin $(date +%s.%N) $1" >> "$root/activations"
if test -e "$root/activate-sleep"; then sleep "$(cat "$root/activate-sleep")"; fi
echo "end $(date +%s.%N)" >> "$root/activations"
exit "$(cat "$root/activate-status" 2>/dev/null || echo 0)"
`
	if err := os.WriteFile(filepath.Join(dir, "activate"), []byte(activate), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// switchTo runs the switch role as bin/switch-to-configuration would.
func (fx *fixture) switchTo(t *testing.T, system, action string) (int, string) {
	t.Helper()
	cmd := fx.switchCommand(system, action)
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

func (fx *fixture) switchCommand(system, action string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "switch", "--toplevel", system, action)
	cmd.Env = append(os.Environ(), supervisor.RootEnv+"="+fx.paths.Root)
	return cmd
}

func (fx *fixture) mustSwitch(t *testing.T, system string) string {
	t.Helper()
	code, out := fx.switchTo(t, system, "switch")
	if code != 0 {
		t.Fatalf("switch exited %d:\n%s", code, out)
	}
	return out
}

func (fx *fixture) status(t *testing.T) map[string]supervisor.UnitStatus {
	t.Helper()
	units, err := fx.client().Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]supervisor.UnitStatus{}
	for _, u := range units {
		byName[u.Name] = u
	}
	return byName
}

func (fx *fixture) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.paths.Root, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// unit is an autostarted unit running a shell script, hashed by content
// as the stand-in nixpkgs does.
func unit(name, typ, script string, edit ...func(*supervisor.Unit)) supervisor.Unit {
	u := supervisor.Unit{
		Name:             name,
		Type:             typ,
		Start:            []supervisor.Command{{Argv: []string{"/bin/sh", "-c", script}}},
		Autostart:        true,
		RestartIfChanged: true,
		RemainAfterExit:  typ == "oneshot",
		WantedBy:         []string{"multi-user.target"},
	}
	for _, e := range edit {
		e(&u)
	}
	data, _ := json.Marshal(u)
	sum := sha256.Sum256(data)
	u.Hash = hex.EncodeToString(sum[:])
	return u
}

func daemonRunning(paths supervisor.Paths) bool { return supervisor.NewClient(paths).Running() }
