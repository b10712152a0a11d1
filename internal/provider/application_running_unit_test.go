package provider

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

func runningApp(running bool) applicationModel {
	return applicationModel{
		Operator: operatorTargetModel{Name: types.StringValue("club"), Domain: types.StringValue("club.example")},
		Kind:     types.StringValue("matrix"), Subdomain: types.StringValue("matrix"), Version: types.StringValue("1.140.0"),
		RegistrationsOpen: types.BoolValue(false), UserLimit: types.Int64Value(0), Running: types.BoolValue(running),
	}
}

// A running application's fragment is byte for byte what it was before
// `running` existed, so that upgrading the provider rebuilds nothing; a
// stopped one names the catalogue's service.
func TestApplicationFragmentOfRunningAndStopped(t *testing.T) {
	running, err := json.Marshal(runningApp(true).fragment())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"operator":"club","kind":"matrix","subdomain":"matrix","version":"1.140.0","settings":{"registrationsOpen":false,"userLimit":0}}`; string(running) != want {
		t.Errorf("running: %s\nwant %s", running, want)
	}
	stopped := runningApp(false).fragment()
	if !reflect.DeepEqual(stopped.Stopped, []string{"matrix-synapse"}) || stopped.running() {
		t.Errorf("stopped: %+v, want matrix-synapse kept stopped", stopped)
	}
}

// The health gate asks neither held-back nor stopped applications.
func TestDeployedAppsSkipsStoppedAndHeldBack(t *testing.T) {
	apps := deployedApps(map[string][]byte{
		"operator-club.json":              []byte(`{"name":"club","domain":"club.example"}`),
		"application-club-mastodon.json":  []byte(`{"operator":"club","kind":"mastodon","subdomain":"social"}`),
		"application-club-matrix.json":    []byte(`{"operator":"club","kind":"matrix","subdomain":"matrix","stopped":["matrix-synapse"]}`),
		"application-club-pixelfed.json":  []byte(`{"operator":"club","kind":"pixelfed","subdomain":"pixelfed","heldBack":["phpfpm-pixelfed"]}`),
		"application-club-nextcloud.json": []byte(`{"operator":"club","kind":"nextcloud","subdomain":"cloud","stopped":[]}`),
	})
	want := []deployedApp{{kind: "nextcloud", domain: "cloud.club.example"}, {kind: "mastodon", domain: "social.club.example"}}
	if !reflect.DeepEqual(apps, want) {
		t.Fatalf("got %+v, want %+v", apps, want)
	}
}

// A stopped application's health is not a failure to repair.
func TestFoundUnhealthy(t *testing.T) {
	for health, want := range map[string]bool{"ok": false, healthStopped: false, "deploying": true, "Mastodon at social.club.example: no answer": true} {
		if got := foundUnhealthy(types.StringValue(health)); got != want {
			t.Errorf("%q: %v, want %v", health, got, want)
		}
	}
}

// A migration moves an application stopped at the source as stopped: it
// drops only its own heldBack when it reads the source.
func TestMigrationKeepsStopped(t *testing.T) {
	var p preparedMigration
	err := p.readOperator(nixos.RuntimeFacts{Deployed: map[string][]byte{
		"operator-club.json":           []byte(`{"name":"club","domain":"club.example"}`),
		"application-club-matrix.json": []byte(`{"operator":"club","kind":"matrix","subdomain":"matrix","heldBack":["matrix-synapse"],"stopped":["matrix-synapse"]}`),
	}}, "club")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.apps) != 1 || p.apps[0].HeldBack != nil || !reflect.DeepEqual(p.apps[0].Stopped, []string{"matrix-synapse"}) {
		t.Errorf("read %+v, want matrix without heldBack and still stopped", p.apps)
	}
}

// The shared services stop only when the runtime has applications and
// runs none of them; a migration's held-back application counts as running.
func TestRunsNoApplication(t *testing.T) {
	operator := []byte(`{"name":"club","domain":"club.example"}`)
	stopped := []byte(`{"operator":"club","kind":"matrix","subdomain":"matrix","stopped":["matrix-synapse"]}`)
	for name, c := range map[string]struct {
		apps map[string][]byte
		want bool
	}{
		"no applications":   {nil, false},
		"all stopped":       {map[string][]byte{"application-club-matrix.json": stopped}, true},
		"one running":       {map[string][]byte{"application-club-matrix.json": stopped, "application-club-mastodon.json": []byte(`{"operator":"club","kind":"mastodon"}`)}, false},
		"stopped, migrated": {map[string][]byte{"application-club-matrix.json": []byte(`{"operator":"club","kind":"matrix","heldBack":["matrix-synapse"],"stopped":["matrix-synapse"]}`)}, false},
	} {
		fragments := map[string][]byte{"operator-club.json": operator}
		for file, content := range c.apps {
			fragments[file] = content
		}
		if got := runsNoApplication(fragments); got != c.want {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
}
