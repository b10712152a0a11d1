package catalogue

import (
	"strings"
	"testing"
)

func TestEveryKindIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range All() {
		if a.Kind == "" || a.Name == "" || a.NixOSModule == "" || len(a.Versions) == 0 || a.Subdomain == "" || !strings.HasPrefix(a.HealthPath, "/") || !strings.HasPrefix(a.StateDir, "/var/lib/") || a.Database == "" {
			t.Errorf("incomplete entry %+v", a)
		}
		if seen[a.Subdomain] {
			t.Errorf("default subdomain %q used twice", a.Subdomain)
		}
		seen[a.Subdomain] = true
	}
	if len(Kinds()) != 6 {
		t.Errorf("want the six kinds of the brief, got %v", Kinds())
	}
}

func TestCheckVersion(t *testing.T) {
	if err := CheckVersion("mastodon", "4.4.4"); err != nil {
		t.Fatal(err)
	}
	if err := CheckVersion("mastodon", "3.0.0"); err == nil || !strings.Contains(err.Error(), "choose one of 4.4.4, 4.3.13") {
		t.Fatalf("unsupported version: %v", err)
	}
	if err := CheckVersion("diaspora", "1"); err == nil || !strings.Contains(err.Error(), "mastodon, pixelfed") {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestAllIsACopy(t *testing.T) {
	All()[0].Kind = "changed"
	if _, ok := Lookup("mastodon"); !ok {
		t.Fatal("All must not expose the table")
	}
}
