package nixpkgs

import (
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// appHeld adds an application whose fragment keeps units from starting:
// stopped (running = false) and heldBack (a migration's), as the provider
// writes them.
func (f *fragments) appHeld(operator, kind, subdomain, version string, stopped, heldBack []string) *fragments {
	app := map[string]any{
		"operator": operator, "kind": kind, "subdomain": subdomain, "version": version,
		"settings": map[string]any{"registrationsOpen": false, "userLimit": 0},
	}
	if stopped != nil {
		app["stopped"] = stopped
	}
	if heldBack != nil {
		app["heldBack"] = heldBack
	}
	f.write("application-"+operator+"-"+kind+".json", app)
	return f
}

// expectAutostart checks which units a switch starts by itself.
func expectAutostart(t *testing.T, units map[string]supervisor.Unit, want map[string]bool) {
	t.Helper()
	for name, autostart := range want {
		u, ok := units[name]
		if !ok {
			t.Errorf("the system has no unit %s: a stopped application keeps its units", name)
			continue
		}
		if u.Autostart != autostart {
			t.Errorf("%s starts by itself: %v, want %v", name, u.Autostart, autostart)
		}
	}
}

// A stopped application's units stay in the system but do not start; the
// database, web and mail servers run for the application that does.
func TestAStoppedApplicationBesideARunningOne(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test").
		app("alpha", "mastodon", "social", "4.4.4").
		appHeld("alpha", "matrix", "matrix", "1.140.0", []string{"matrix-synapse"}, nil)
	units := unitsOf(t, n.buildSystem(t, f))
	expectAutostart(t, units, map[string]bool{
		"matrix-synapse": false, "matrix-synapse-database": false,
		"mastodon-web": true, "postgresql": true, "postgresql-setup": true, "nginx": true, "maddy": true,
	})
}

// A runtime whose applications are all stopped starts nothing, yet keeps
// everything configured: secrets, virtual hosts, mail.
func TestARuntimeOfStoppedApplicationsStartsNothing(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test").
		appHeld("alpha", "mastodon", "social", "4.4.4", []string{"mastodon-web"}, nil).
		appHeld("alpha", "matrix", "matrix", "1.140.0", []string{"matrix-synapse"}, nil)
	system := n.buildSystem(t, f)
	units := unitsOf(t, system)
	expectAutostart(t, units, map[string]bool{
		"mastodon-web": false, "matrix-synapse": false, "matrix-synapse-database": false,
		"postgresql": false, "postgresql-setup": false, "nginx": false, "maddy": false,
	})
	if vhosts := proxyConfigOf(t, units).VirtualHosts; vhosts["social.alpha.test"].Locations["/"].ProxyPass == "" {
		t.Errorf("social.alpha.test has no virtual host: %+v", vhosts)
	}
	activate := readString(t, system+"/activate")
	for _, secret := range []string{"/var/lib/fediversity-secrets/alpha/mastodon/secret_key_base", "/var/lib/fediversity-secrets/alpha/matrix/signing.key"} {
		if !strings.Contains(activate, secret) {
			t.Errorf("activation does not generate %s", secret)
		}
	}
}

// An application that a migration holds back counts as running: the
// migration restores its database meanwhile, so the database server runs,
// even for an application that was stopped where it came from.
func TestAHeldBackApplicationKeepsTheDatabaseServer(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test").
		appHeld("alpha", "mastodon", "social", "4.4.4", []string{"mastodon-web"}, []string{"mastodon-web"})
	expectAutostart(t, unitsOf(t, n.buildSystem(t, f)), map[string]bool{
		"mastodon-web": false, "postgresql": true, "postgresql-setup": true, "nginx": true, "maddy": true,
	})
}

// An operator with no application yet runs its mail server, but no
// database server: nothing needs one until an application runs.
func TestAnOperatorAloneRunsMailButNoDatabase(t *testing.T) {
	n := newNixEnv(t)
	f := newFragments(t).operator("alpha", "alpha.test")
	units := unitsOf(t, n.buildSystem(t, f))
	expectAutostart(t, units, map[string]bool{"maddy": true, "postgresql": false, "postgresql-setup": false})
}
