package nixpkgs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// systemExpr builds a testdata system through the provider's entry point.
func systemExpr(file string) string {
	return `(import <nixpkgs/nixos/lib/eval-config.nix> {
		system = "x86_64-linux";
		modules = [ (testdata + "/` + file + `") ];
	}).config.system.build.toplevel`
}

func TestToplevelBuildsReproducibly(t *testing.T) {
	n := newNixEnv(t)
	first := n.build(t, systemExpr("example-system.nix"))
	// Another install elsewhere, same configuration: the same system.
	other := newNixEnv(t)
	other.standin = n.standin
	if second := other.build(t, systemExpr("example-system.nix")); second != first {
		t.Fatalf("two evaluations gave %s and %s", first, second)
	}
	if !strings.HasSuffix(first, "-nixos-system-example-24.05-standin") {
		t.Errorf("system name %s", first)
	}
	for _, f := range []string{"units.json", "activate", "bin/switch-to-configuration", "nixos-version", "etc/hostname", "etc/example/motd", "sw"} {
		if _, err := os.Stat(filepath.Join(first, f)); err != nil {
			t.Errorf("the system lacks %s: %v", f, err)
		}
	}
	stc := readString(t, filepath.Join(first, "bin/switch-to-configuration"))
	if !strings.Contains(stc, "/bin/fediversity-standin switch --toplevel "+first+` "$@"`) {
		t.Errorf("switch-to-configuration:\n%s", stc)
	}
	activate := readString(t, filepath.Join(first, "activate"))
	for _, want := range []string{"systemConfig=" + first, "useradd --system", "'fediversity-example'", "_etc_install_copy 'example/secret' '0440'", "d '/var/lib/postgresql/15' 0700 postgres postgres"} {
		if !strings.Contains(activate, want) && !strings.Contains(readString(t, tmpfilesOf(t, activate)), want) {
			t.Errorf("activate lacks %q", want)
		}
	}
}

// tmpfilesOf finds the tmpfiles rules file an activate script reads.
func tmpfilesOf(t *testing.T, activate string) string {
	for _, f := range strings.Fields(activate) {
		if strings.HasSuffix(f, "-tmpfiles.conf") {
			return f
		}
	}
	t.Fatal("no tmpfiles.conf in the activate script")
	return ""
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func unitsOf(t *testing.T, system string) map[string]supervisor.Unit {
	t.Helper()
	units, err := supervisor.ReadUnitsFile(filepath.Join(system, "units.json"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]supervisor.Unit{}
	for _, u := range units {
		byName[u.Name] = u
	}
	return byName
}

func TestUnitsJSONForPostgresqlAndTheExampleApp(t *testing.T) {
	n := newNixEnv(t)
	system := n.build(t, systemExpr("example-system.nix"))
	units := unitsOf(t, system)
	if len(units) != 3 {
		t.Fatalf("units: %v", units)
	}

	app := units["fediversity-standin-example"]
	argv := app.Start[0].Argv
	if len(argv) != 4 || !strings.HasSuffix(argv[0], "-fediversity-standin/bin/fediversity-standin") || argv[1] != "app" || argv[2] != "--config" {
		t.Fatalf("example argv %v", argv)
	}
	var settings map[string]any
	if err := json.Unmarshal([]byte(readString(t, argv[3])), &settings); err != nil || settings["domain"] != "example.test" {
		t.Errorf("example config %v %v", settings, err)
	}
	if app.Type != "simple" || app.User != "fediversity-example" || app.Restart != "on-failure" || !app.Autostart ||
		!reflect.DeepEqual(app.StateDirectories, []string{"fediversity-standin-example"}) {
		t.Errorf("example unit %+v", app)
	}

	pg := units["postgresql"]
	if pg.User != "postgres" || pg.KillSignal != "SIGINT" || len(pg.StartPre) != 1 || pg.Environment["PGDATA"] != "/var/lib/postgresql/15" ||
		!reflect.DeepEqual(pg.RuntimeDirectories, []string{"postgresql"}) || !strings.HasSuffix(pg.Start[0].Argv[0], "-postgresql-15/bin/postgres") {
		t.Errorf("postgresql unit %+v", pg)
	}
	if target, err := os.Readlink(filepath.Dir(pg.Start[0].Argv[0])); err != nil || target != "/usr/lib/postgresql/15/bin" {
		t.Errorf("pkgs.postgresql's bin -> %q (%v)", target, err)
	}

	setup := units["postgresql-setup"]
	script := readString(t, setup.Start[0].Argv[0])
	if setup.Type != "oneshot" || !setup.RemainAfterExit || !reflect.DeepEqual(setup.Requires, []string{"postgresql"}) ||
		!reflect.DeepEqual(setup.After, []string{"postgresql"}) || !strings.Contains(script, `CREATE DATABASE "example"`) ||
		!strings.Contains(script, `ALTER DATABASE "example" OWNER TO "example"`) {
		t.Errorf("postgresql-setup unit %+v\n%s", setup, script)
	}

	variant := unitsOf(t, n.build(t, systemExpr("example-variant.nix")))
	if variant["fediversity-standin-example"].Hash == app.Hash {
		t.Error("changed app settings left the app's hash as it was")
	}
	if variant["postgresql"].Hash != pg.Hash || variant["postgresql-setup"].Hash != setup.Hash {
		t.Error("changed app settings changed the database's units")
	}
}

func TestTheStandinProgramIsContentAddressed(t *testing.T) {
	n := newNixEnv(t)
	path := func() string {
		var p string
		n.eval(t, `(import <nixpkgs> { }).fediversity-standin.outPath`, &p)
		return p
	}
	first := path()
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(moved, []byte(readString(t, n.standin)), 0o755); err != nil {
		t.Fatal(err)
	}
	n.standin = moved
	if path() != first {
		t.Error("the same program at another place gave another package")
	}
	if err := os.WriteFile(moved, []byte("#!/bin/sh\n# a new version\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if path() == first {
		t.Error("a new program gave the same package")
	}
}

func TestInstallReplacesAnEarlierTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nixpkgs")
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "lib", "stale.nix")
	if err := os.WriteFile(stale, []byte("{ }"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Install(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a file of an earlier install survived: %v", err)
	}
	for _, f := range []string{"default.nix", "lib/default.nix", "nixos/lib/eval-config.nix", "nixos/default.nix", "pkgs/default.nix"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("Install left staging directories: %v", entries)
	}
}
