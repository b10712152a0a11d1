package apps_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

// useFaults points the stand-in at a faults file for one test.
func useFaults(t *testing.T, lines string) {
	file := filepath.Join(t.TempDir(), "faults")
	writeFile(t, file, lines)
	old := apps.FaultsFile
	apps.FaultsFile = file
	t.Cleanup(func() { apps.FaultsFile = old })
}

// Injected faults hit exactly the named kind and version, so that a test
// can break a new release while the one rolled back to keeps working.
func TestInjectedFaults(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "mastodon")
	useFaults(t, "refuse-start mastodon "+cfg.Version+"\nunhealthy matrix "+cfg.Version+"\n")
	_, err := apps.OpenApp(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refuses to start: a fault is injected") {
		t.Fatalf("want an injected refusal, got %v", err)
	}

	other := cfg
	other.Version = "0.0.1"
	startApp(t, other).call("GET", healthPath, nil, 200, nil)

	sick := startApp(t, appConfig(t, pg, "matrix"))
	var h health
	sick.call("GET", healthPath, nil, 503, &h)
	if h.Status != "unhealthy" || !strings.Contains(h.Reason, "fault is injected") {
		t.Fatalf("health = %+v", h)
	}
}
