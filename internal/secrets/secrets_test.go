package secrets_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
	"github.com/fediversity/terraform-provider-fediversity/internal/secrets"
)

func connect(t *testing.T) *remote.Client {
	t.Helper()
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	c, err := acctest.HostPool(t, f, remote.Config{}).Client(context.Background(), acctest.Endpoint(t, h, h.Address, h.Port))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *remote.Client, script string, args ...string) string {
	t.Helper()
	out, err := c.Output(context.Background(), append([]string{"sh", "-c", script, "sh"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func testDir() string {
	return fmt.Sprintf("/var/lib/fediversity-secrets/test-%d", time.Now().UnixNano())
}

// RELIABILITY 18 and 19: secrets get their owner and mode, are created
// once, and a second run rewrites nothing.
func TestEnsureCreatesOnceWithOwnerAndMode(t *testing.T) {
	c := connect(t)
	dir := testDir()
	specs := []secrets.Spec{
		{Path: dir + "/mastodon/secret_key_base", Owner: "nobody", Group: "nogroup", Mode: 0o400, Kind: secrets.RandomBase64, Size: 64},
		{Path: dir + "/matrix/signing.key", Owner: "root", Group: "nogroup", Mode: 0o640, Kind: secrets.SynapseSigningKey},
		{Path: dir + "/mail/dkim.private", Owner: "root", Group: "root", Mode: 0o600, Kind: secrets.RSAPrivateKey, Size: 2048},
	}
	created, err := secrets.Ensure(context.Background(), c, specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 3 {
		t.Fatalf("created %v, want all three", created)
	}
	stat := run(t, c, `stat -c '%U:%G %a %s' "$@"`, specs[0].Path, specs[1].Path, specs[2].Path)
	lines := strings.Split(stat, "\n")
	for i, want := range []string{"nobody:nogroup 400 88", "root:nogroup 640 ", "root:root 600 "} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("%s: got %q, want %q...", specs[i].Path, lines[i], want)
		}
	}
	if key := run(t, c, `cat "$1"`, specs[1].Path); !regexp.MustCompile(`^ed25519 a_[A-Za-z0-9]{4} [A-Za-z0-9+/]{43}$`).MatchString(key) {
		t.Errorf("signing key %q is not in Synapse's format", key)
	}
	before := run(t, c, `sha256sum "$@"; stat -c %Y "$@"`, specs[0].Path, specs[2].Path)
	again, err := secrets.Ensure(context.Background(), c, specs)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run created %v, %v; want nothing", again, err)
	}
	if after := run(t, c, `sha256sum "$@"; stat -c %Y "$@"`, specs[0].Path, specs[2].Path); after != before {
		t.Fatalf("unchanged secrets were rewritten:\n%s\n%s", before, after)
	}
	pub, err := secrets.PublicKey(context.Background(), c, specs[2].Path)
	if err != nil || !strings.HasPrefix(pub, "-----BEGIN PUBLIC KEY-----") || strings.Contains(pub, "PRIVATE") {
		t.Fatalf("public key %q, %v", pub, err)
	}
}

// Pixelfed reads its APP_KEY from an environment file: the secret is that
// file, with a key Laravel accepts (32 bytes, base64).
func TestEnsureLaravelAppKey(t *testing.T) {
	c := connect(t)
	spec := secrets.Spec{Path: testDir() + "/pixelfed/app_key.env", Owner: "nobody", Group: "nogroup", Mode: 0o400, Kind: secrets.LaravelAppKey}
	if _, err := secrets.Ensure(context.Background(), c, []secrets.Spec{spec}); err != nil {
		t.Fatal(err)
	}
	content := run(t, c, `cat "$1"`, spec.Path)
	key, ok := strings.CutPrefix(content, "APP_KEY=base64:")
	if decoded, err := base64.StdEncoding.DecodeString(key); !ok || err != nil || len(decoded) != 32 {
		t.Fatalf("%s holds %d lines, not APP_KEY=base64:<32 bytes> (%v)", spec.Path, strings.Count(content, "\n")+1, err)
	}
	if stat := run(t, c, `stat -c '%U:%G %a' "$1"`, spec.Path); stat != "nobody:nogroup 400" {
		t.Fatalf("%s: %s", spec.Path, stat)
	}
}

// RELIABILITY 18: an unknown owner is an error; nothing is created and no
// temp file is left.
func TestEnsureRefusesUnknownOwner(t *testing.T) {
	c := connect(t)
	dir := testDir()
	_, err := secrets.Ensure(context.Background(), c, []secrets.Spec{
		{Path: dir + "/a", Owner: "mastodn", Group: "nogroup", Mode: 0o400, Kind: secrets.RandomBase64, Size: 32},
	})
	if err == nil || !strings.Contains(err.Error(), "unknown owner mastodn") {
		t.Fatalf("want an unknown-owner error, got %v", err)
	}
	if left := run(t, c, `ls -A "$1" 2>/dev/null | wc -l`, dir); left != "0" {
		t.Fatalf("%s files left behind in %s", left, dir)
	}
}

func TestMissing(t *testing.T) {
	c := connect(t)
	dir := testDir()
	if _, err := secrets.Ensure(context.Background(), c, []secrets.Spec{
		{Path: dir + "/present", Owner: "root", Group: "root", Mode: 0o600, Kind: secrets.RandomBase64, Size: 32},
	}); err != nil {
		t.Fatal(err)
	}
	run(t, c, `: >"$1"`, dir+"/empty")
	missing, err := secrets.Missing(context.Background(), c, []string{dir + "/present", dir + "/empty", dir + "/absent"})
	if err != nil || strings.Join(missing, ",") != dir+"/empty,"+dir+"/absent" {
		t.Fatalf("missing %v, %v", missing, err)
	}
}

func TestSpecValidation(t *testing.T) {
	for _, bad := range []secrets.Spec{
		{Path: "relative", Owner: "root", Group: "root", Mode: 0o600, Kind: secrets.RandomBase64, Size: 32},
		{Path: "/a/../b", Owner: "root", Group: "root", Mode: 0o600, Kind: secrets.RandomBase64, Size: 32},
		{Path: "/a", Owner: "-u", Group: "root", Mode: 0o600, Kind: secrets.RandomBase64, Size: 32},
		{Path: "/a", Owner: "root", Group: "root", Mode: 0o604, Kind: secrets.RandomBase64, Size: 32},
		{Path: "/a", Owner: "root", Group: "root", Mode: 0o600, Kind: secrets.RSAPrivateKey, Size: 512},
		{Path: "/a", Owner: "root", Group: "root", Mode: 0o600, Kind: "password123"},
	} {
		if _, err := secrets.Ensure(context.Background(), nil, []secrets.Spec{bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
