package hostaddr_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

func marker(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sandbox-host")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOnASandboxHostThisMachineIsItsAddress(t *testing.T) {
	h, err := hostaddr.Load(marker(t, "sandbox=1\nname=host1\naddress=127.0.0.7\n"))
	if err != nil || h.Address != "127.0.0.7" || h.AllAddresses() != "127.0.0.7" {
		t.Fatalf("%+v, %v", h, err)
	}
	for in, want := range map[string]string{
		":80":              "127.0.0.7:80",
		"0.0.0.0:80":       "127.0.0.7:80",
		"[::]:80":          "127.0.0.7:80",
		"localhost:2283":   "127.0.0.7:2283",
		"127.0.0.1:9000":   "127.0.0.7:9000",
		"[::1]:9000":       "127.0.0.7:9000",
		"127.0.0.9:25":     "127.0.0.9:25",
		"192.0.2.1:80":     "192.0.2.1:80",
		"unix:/run/a.sock": "unix:/run/a.sock",
	} {
		if got := h.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestElsewhereAddressesMeanWhatTheySay(t *testing.T) {
	h, err := hostaddr.Load(filepath.Join(t.TempDir(), "absent"))
	if err != nil || h.Address != "" || h.AllAddresses() != "0.0.0.0" {
		t.Fatalf("%+v, %v", h, err)
	}
	if got := h.Resolve("localhost:2283"); got != "localhost:2283" {
		t.Errorf("Resolve changed %q off a sandbox host", got)
	}
}

func TestBadMarkers(t *testing.T) {
	for content, want := range map[string]string{
		"sandbox=1\n":              "no address= line",
		"address=not-an-address\n": "not an IP address",
	} {
		if _, err := hostaddr.Load(marker(t, content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
