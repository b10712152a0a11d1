// Package catalogue lists the applications the provider deploys: their
// kinds, supported versions, default subdomains and health endpoints. One
// table serves the provider's validation, its health gate, the catalogue
// data source and the sandbox's stand-in apps.
package catalogue

import (
	"fmt"
	"slices"
	"strings"
)

// App describes one application kind.
type App struct {
	Kind        string
	Name        string   // what operators call it
	NixOSModule string   // the NixOS service it is deployed with
	Versions    []string // supported, newest first; the first is the default
	Subdomain   string   // default subdomain of the operator's domain
	HealthPath  string   // answers 200 when the app is up
	StateDir    string   // where its NixOS module keeps files
	Database    string   // its PostgreSQL database, owned by the role of the same name
	// Service is the systemd unit that serves it, as its NixOS module
	// names it: held back while a migration fills in its data.
	Service string
	// Secrets are the secret files it cannot live without (its sessions,
	// keys or encrypted columns are lost with them), in its secrets dir.
	Secrets []string
	// MigrationSkipsData are tables whose rows a migration leaves behind,
	// by the application's own rule: Synapse's one-time keys must not be
	// used twice, and clients upload new ones.
	MigrationSkipsData []string
}

var apps = []App{
	{Kind: "mastodon", Name: "Mastodon", NixOSModule: "services.mastodon", Versions: []string{"4.4.4", "4.3.13"}, Subdomain: "social", HealthPath: "/health", StateDir: "/var/lib/mastodon", Database: "mastodon", Service: "mastodon-web", Secrets: []string{"secret_key_base", "active_record_encryption_deterministic_key", "active_record_encryption_key_derivation_salt", "active_record_encryption_primary_key"}},
	{Kind: "pixelfed", Name: "Pixelfed", NixOSModule: "services.pixelfed", Versions: []string{"0.12.6"}, Subdomain: "pixelfed", HealthPath: "/api/service/health-check", StateDir: "/var/lib/pixelfed", Database: "pixelfed", Service: "phpfpm-pixelfed", Secrets: []string{"app_key.env"}},
	{Kind: "peertube", Name: "PeerTube", NixOSModule: "services.peertube", Versions: []string{"7.3.0"}, Subdomain: "video", HealthPath: "/api/v1/config", StateDir: "/var/lib/peertube", Database: "peertube", Service: "peertube", Secrets: []string{"secret"}},
	{Kind: "matrix", Name: "Matrix (Synapse)", NixOSModule: "services.matrix-synapse", Versions: []string{"1.140.0"}, Subdomain: "matrix", HealthPath: "/health", StateDir: "/var/lib/matrix-synapse", Database: "matrix-synapse", Service: "matrix-synapse", Secrets: []string{"signing.key"}, MigrationSkipsData: []string{"e2e_one_time_keys_json"}},
	{Kind: "nextcloud", Name: "Nextcloud", NixOSModule: "services.nextcloud", Versions: []string{"31.0.9", "30.0.15"}, Subdomain: "cloud", HealthPath: "/status.php", StateDir: "/var/lib/nextcloud", Database: "nextcloud", Service: "phpfpm-nextcloud", Secrets: []string{"adminpass"}},
	{Kind: "immich", Name: "Immich", NixOSModule: "services.immich", Versions: []string{"1.142.1"}, Subdomain: "photos", HealthPath: "/api/server/ping", StateDir: "/var/lib/immich", Database: "immich", Service: "immich-server", Secrets: []string{}},
}

// All returns every application kind, in a stable order.
func All() []App {
	return slices.Clone(apps)
}

// Kinds returns the kind names.
func Kinds() []string {
	kinds := make([]string, len(apps))
	for i, a := range apps {
		kinds[i] = a.Kind
	}
	return kinds
}

// Lookup finds an application kind.
func Lookup(kind string) (App, bool) {
	i := slices.IndexFunc(apps, func(a App) bool { return a.Kind == kind })
	if i < 0 {
		return App{}, false
	}
	return apps[i], true
}

// CheckVersion says whether version is supported for kind, and if not,
// which are.
func CheckVersion(kind, version string) error {
	app, ok := Lookup(kind)
	if !ok {
		return fmt.Errorf("unknown application kind %q: choose one of %s", kind, strings.Join(Kinds(), ", "))
	}
	if !slices.Contains(app.Versions, version) {
		return fmt.Errorf("%s %s is not supported: choose one of %s", app.Name, version, strings.Join(app.Versions, ", "))
	}
	return nil
}
