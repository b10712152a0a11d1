package nixpkgs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/proxy"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// The provider's own NixOS modules (internal/modules/nixos), built here
// against the stand-in nixpkgs from fragments as the provider writes them.

// fragments is a runtime's fragments directory.
type fragments struct {
	t   *testing.T
	dir string
}

// newFragments starts a host runtime's fragments.
func newFragments(t *testing.T) *fragments {
	f := &fragments{t: t, dir: t.TempDir()}
	f.write("runtime.json", map[string]any{"name": "r1", "kind": "host", "hostName": "r1"})
	return f
}

func (f *fragments) write(name string, v any) {
	f.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, name), data, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fragments) operator(name, domain string) *fragments {
	f.write("operator-"+name+".json", map[string]any{"name": name, "domain": domain, "contactEmail": "admin@" + domain})
	return f
}

// app adds an application with registrations open and a limit of 50 users.
func (f *fragments) app(operator, kind, subdomain, version string) *fragments {
	f.write("application-"+operator+"-"+kind+".json", map[string]any{
		"operator": operator, "kind": kind, "subdomain": subdomain, "version": version,
		"settings": map[string]any{"registrationsOpen": true, "userLimit": 50},
	})
	return f
}

// entryArgs are nix-build's or nix-instantiate's arguments for the
// provider's entry point on these fragments.
func (f *fragments) entryArgs(tool string) []string {
	entry, err := filepath.Abs("../../modules/nixos/entry.nix")
	if err != nil {
		f.t.Fatal(err)
	}
	return []string{tool, entry, "--argstr", "fragments", f.dir}
}

// buildSystem builds the runtime's system, as the provider does.
func (n *nixEnv) buildSystem(t *testing.T, f *fragments) string {
	t.Helper()
	out, stderr, err := n.runArgs(append(f.entryArgs("nix-build"), "--no-out-link")...)
	if err != nil {
		t.Fatalf("building the system: %v\n%s", err, stderr)
	}
	return out
}

// systemError evaluates the runtime's system, which must fail, and
// returns Nix's message.
func (n *nixEnv) systemError(t *testing.T, f *fragments) string {
	t.Helper()
	out, stderr, err := n.runArgs(f.entryArgs("nix-instantiate")...)
	if err == nil {
		t.Fatalf("evaluating the system succeeded with %s; want an error", out)
	}
	return stderr
}

func (n *nixEnv) runArgs(args ...string) (string, string, error) {
	cmd := n.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSpace(stdout.String()), stderr.String(), err
}

// deployed is what each kind's stand-in service must be: its unit, the
// upstream its virtual host passes to, and its secrets (name -> file in
// the app's secrets directory) with their owner and kind.
var deployed = map[string]struct {
	unit, upstream string
	secrets        map[string]string
	owner, kind    string
}{
	"mastodon": {"mastodon-web", "http://unix:/run/mastodon-web/web.socket", map[string]string{
		"SECRET_KEY_BASE": "secret_key_base",
		"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY":   "active_record_encryption_deterministic_key",
		"ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": "active_record_encryption_key_derivation_salt",
		"ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY":         "active_record_encryption_primary_key",
	}, "mastodon", "random-base64"},
	"pixelfed":  {"phpfpm-pixelfed", "http://unix:/run/pixelfed/pixelfed.sock", map[string]string{"APP_KEY": "app_key.env"}, "pixelfed", "laravel-app-key"},
	"peertube":  {"peertube", "http://127.0.0.1:9000", map[string]string{"PEERTUBE_SECRET": "secret"}, "peertube", "random-base64"},
	"matrix":    {"matrix-synapse", "http://unix:/run/matrix-synapse/matrix-synapse.sock", map[string]string{"signing_key": "signing.key"}, "matrix-synapse", "synapse-signing-key"},
	"nextcloud": {"phpfpm-nextcloud", "http://unix:/run/phpfpm-nextcloud/nextcloud.sock", map[string]string{"adminpass": "adminpass"}, "nextcloud", "random-base64"},
	"immich":    {"immich-server", "http://localhost:2283", map[string]string{}, "immich", ""},
}

// pinnedVersion is the oldest supported version, so that pinning is
// tested where there is a choice.
func pinnedVersion(app catalogue.App) string {
	return app.Versions[len(app.Versions)-1]
}

// allKinds is one operator with every application kind, at its default
// subdomain.
func allKinds(t *testing.T) *fragments {
	f := newFragments(t).operator("alpha", "alpha.test")
	for _, app := range catalogue.All() {
		f.app("alpha", app.Kind, app.Subdomain, pinnedVersion(app))
	}
	return f
}

func TestEveryKindAndMailDeployOnTheStandin(t *testing.T) {
	n := newNixEnv(t)
	system := n.buildSystem(t, allKinds(t))
	units := unitsOf(t, system)
	activate := readString(t, filepath.Join(system, "activate"))
	vhosts := proxyConfigOf(t, units).VirtualHosts

	for _, app := range catalogue.All() {
		want := deployed[app.Kind]
		domain := app.Subdomain + ".alpha.test"
		cfg, unit := appConfigOf(t, units, want.unit)
		secrets := map[string]string{}
		for name, file := range want.secrets {
			secrets[name] = "/var/lib/fediversity-secrets/alpha/" + app.Kind + "/" + file
			if spec := fmt.Sprintf("'%s' '%s' '%[2]s' '0400' '%s'", secrets[name], want.owner, want.kind); !strings.Contains(activate, spec) {
				t.Errorf("%s: activation does not generate %s", app.Kind, spec)
			}
		}
		if cfg.Kind != app.Kind || cfg.Version != pinnedVersion(app) || cfg.Domain != domain ||
			cfg.Database.Name != app.Database || cfg.Database.User != app.Database || cfg.Database.Host != "/run/postgresql" ||
			cfg.StateDir != app.StateDir || !reflect.DeepEqual(cfg.Secrets, secrets) ||
			cfg.Settings != (apps.Settings{RegistrationsOpen: true, UserLimit: 50}) {
			t.Errorf("%s runs with %+v", app.Kind, cfg)
		}
		if unit.User != want.owner || unit.Restart != "on-failure" || !unit.Autostart {
			t.Errorf("%s's unit %+v", app.Kind, unit)
		}
		if got := vhosts[domain].Locations["/"].ProxyPass; got != want.upstream {
			t.Errorf("%s's virtual host passes to %q, want %q", domain, got, want.upstream)
		}
	}

	mail, err := apps.LoadMailConfig(configOf(t, units["maddy"]))
	dkim := "/var/lib/maddy/dkim_keys/alpha.test_default.key"
	if err != nil || mail.Hostname != "mail.alpha.test" || !reflect.DeepEqual(mail.Domains, []apps.MailDomain{{Domain: "alpha.test", DKIMPrivateKeyFile: dkim}}) {
		t.Errorf("maddy runs with %+v (%v)", mail, err)
	}
	if spec := "'" + dkim + "' 'maddy' 'maddy' '0400' 'rsa-private-key' '2048'"; !strings.Contains(activate, spec) {
		t.Errorf("activation does not generate %s", spec)
	}
	if got := vhosts["mail.alpha.test"].Locations["/"].ProxyPass; got != "http://unix:/run/maddy/http.sock" {
		t.Errorf("mail.alpha.test passes to %q", got)
	}
	checkDatabases(t, units)
}

// checkDatabases: each database is created by the one who should, with the
// owner Mastodon, Pixelfed, ... need; Synapse's with the C locale.
func checkDatabases(t *testing.T, units map[string]supervisor.Unit) {
	t.Helper()
	setup := readString(t, units["postgresql-setup"].Start[0].Argv[0])
	for _, db := range []string{"mastodon", "pixelfed", "peertube", "nextcloud", "immich"} {
		if !strings.Contains(setup, `CREATE DATABASE "`+db+`"`) || !strings.Contains(setup, `ALTER DATABASE "`+db+`" OWNER TO "`+db+`"`) {
			t.Errorf("postgresql-setup does not create %s owned by its role", db)
		}
	}
	synapse := units["matrix-synapse-database"]
	sql := readString(t, synapse.Start[0].Argv[len(synapse.Start[0].Argv)-1])
	if synapse.User != "postgres" || !strings.Contains(sql, `CREATE DATABASE "matrix-synapse" OWNER "matrix-synapse"`) ||
		!strings.Contains(sql, "LC_COLLATE ''C''") || !reflect.DeepEqual(units["matrix-synapse"].Requires, []string{"postgresql", "postgresql-setup", "matrix-synapse-database"}) {
		t.Errorf("Synapse's database: %+v\n%s", synapse, sql)
	}
}

// configOf is the --config file of a stand-in unit.
func configOf(t *testing.T, unit supervisor.Unit) string {
	t.Helper()
	argv := unit.Start[0].Argv
	if len(argv) != 4 || argv[2] != "--config" {
		t.Fatalf("unit %s runs %v", unit.Name, argv)
	}
	return argv[3]
}

func appConfigOf(t *testing.T, units map[string]supervisor.Unit, name string) (apps.Config, supervisor.Unit) {
	t.Helper()
	unit, ok := units[name]
	if !ok {
		t.Fatalf("no unit %s", name)
	}
	cfg, err := apps.LoadConfig(configOf(t, unit))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, unit
}

func proxyConfigOf(t *testing.T, units map[string]supervisor.Unit) proxy.Config {
	t.Helper()
	cfg, err := proxy.LoadConfig(configOf(t, units["nginx"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Listen) != 0 {
		t.Errorf("nginx listens on %v, want the host's addresses", cfg.Listen)
	}
	return cfg
}

func TestOneSubdomainPerApplication(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test").
		app("alpha", "mastodon", "social", "4.4.4").
		app("alpha", "pixelfed", "social", "0.12.6")
	msg := n.systemError(t, f)
	if !strings.Contains(msg, "applications alpha-mastodon and alpha-pixelfed share social.alpha.test: give each its own subdomain") {
		t.Errorf("two applications on one subdomain:\n%s", msg)
	}
	f = newFragments(t).operator("alpha", "alpha.test").app("alpha", "mastodon", "mail", "4.4.4")
	if msg := n.systemError(t, f); !strings.Contains(msg, "application alpha-mastodon uses mail.alpha.test, the name of the operator's mail server") {
		t.Errorf("an application on the mail server's name:\n%s", msg)
	}
}

func TestOneInstanceOfAKindPerHostRuntime(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test").operator("beta", "beta.test").
		app("alpha", "mastodon", "social", "4.4.4").
		app("beta", "mastodon", "social", "4.4.4")
	msg := n.systemError(t, f)
	if !strings.Contains(msg, "runtime r1 would run mastodon for several operators (alpha-mastodon, beta-mastodon)") {
		t.Errorf("two operators' Mastodons on one host runtime:\n%s", msg)
	}
}

// One mail server serves every operator of a runtime, each domain with its
// own key, each readable at mail.<domain>.
func TestOperatorsShareTheMailServer(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("beta", "beta.test").operator("alpha", "alpha.test").
		app("alpha", "mastodon", "social", "4.4.4").
		app("beta", "matrix", "matrix", "1.140.0")
	units := unitsOf(t, n.buildSystem(t, f))
	mail, err := apps.LoadMailConfig(configOf(t, units["maddy"]))
	if err != nil || mail.Hostname != "mail.alpha.test" || len(mail.Domains) != 2 ||
		mail.Domains[1] != (apps.MailDomain{Domain: "beta.test", DKIMPrivateKeyFile: "/var/lib/maddy/dkim_keys/beta.test_default.key"}) {
		t.Errorf("maddy runs with %+v (%v)", mail, err)
	}
	if aliases := proxyConfigOf(t, units).VirtualHosts["mail.alpha.test"].ServerAliases; !reflect.DeepEqual(aliases, []string{"mail.beta.test"}) {
		t.Errorf("mail.alpha.test's aliases: %v", aliases)
	}
}

// Secrets are generated on the host and read there by the services: even
// when a secret file exists at build time, its content reaches neither the
// system nor anything it was built from.
func TestSecretsStayOutOfTheStore(t *testing.T) {
	n := newNixEnv(t)
	operator := fmt.Sprintf("leak%d", time.Now().UnixNano())
	marker := "MARKER-" + operator
	f := newFragments(t).operator(operator, operator+".test")
	for _, app := range catalogue.All() {
		f.app(operator, app.Kind, app.Subdomain, app.Versions[0])
		for _, file := range deployed[app.Kind].secrets {
			writeMarker(t, "/var/lib/fediversity-secrets/"+operator+"/"+app.Kind+"/"+file, marker)
		}
	}
	t.Cleanup(func() { os.RemoveAll("/var/lib/fediversity-secrets/" + operator) })
	system := n.buildSystem(t, f)
	drv, stderr, err := n.runArgs("nix-store", "--query", "--deriver", system)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	for _, root := range []string{system, drv} {
		if leaked := storeFilesContaining(t, root, marker); len(leaked) > 0 {
			t.Errorf("the closure of %s holds a secret in %v", root, leaked)
		}
	}
}

func writeMarker(t *testing.T, path, marker string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Skipf("cannot write secrets on this machine: %v", err)
	}
	if err := os.WriteFile(path, []byte(marker+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
}

// storeFilesContaining lists the files of root's closure that hold needle.
func storeFilesContaining(t *testing.T, root, needle string) []string {
	t.Helper()
	out, err := exec.Command("nix-store", "--query", "--requisites", root).Output()
	if err != nil {
		t.Fatalf("the closure of %s: %v", root, err)
	}
	var found []string
	for _, path := range strings.Fields(string(out)) {
		err := filepath.WalkDir(path, func(file string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			if data, err := os.ReadFile(file); err == nil && bytes.Contains(data, []byte(needle)) {
				found = append(found, file)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return found
}
