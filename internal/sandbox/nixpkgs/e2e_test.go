package nixpkgs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// envSystem hands the built system to the inner test.
const envSystem = "FEDIVERSITY_APPS_E2E_SYSTEM"

// TestAppsAndMailOnASwitchedSystem builds, with the provider's modules and
// the stand-in nixpkgs, the system of one operator with Mastodon, Matrix
// and mail, running the real stand-in program; then switches a private
// namespace to it and uses it from outside: see TestInsideAppsHost.
func TestAppsAndMailOnASwitchedSystem(t *testing.T) {
	hostns.Require(t)
	host := hostns.New(t)
	n := &nixEnv{nixpkgs: filepath.Join(t.TempDir(), "nixpkgs"), standin: buildStandin(t)}
	if err := Install(n.nixpkgs); err != nil {
		t.Fatal(err)
	}
	f := newFragments(t).operator("alpha", "alpha.test").
		app("alpha", "mastodon", "social", "4.4.4").
		app("alpha", "matrix", "matrix", "1.140.0")
	host.Run(t, "TestInsideAppsHost", envSystem+"="+n.buildSystem(t, f))
}

// buildStandin builds the stand-in program, whose roles the system runs.
func buildStandin(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("building the stand-in program needs the go command")
		}
		t.Skip("building the stand-in program needs the go command")
	}
	binary := filepath.Join(t.TempDir(), "fediversity-standin")
	out, err := exec.Command(goTool, "build", "-o", binary, "github.com/fediversity/terraform-provider-fediversity/cmd/fediversity-standin").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return binary
}

// TestInsideAppsHost runs only inside TestAppsAndMailOnASwitchedSystem's
// namespace.
func TestInsideAppsHost(t *testing.T) {
	system := os.Getenv(envSystem)
	if !hostns.Inside() || system == "" {
		t.Skip("run by TestAppsAndMailOnASwitchedSystem, inside a private mount namespace")
	}
	hostns.Switch(t, system)
	units := hostns.Units(t)
	for _, name := range []string{"postgresql", "postgresql-setup", "matrix-synapse-database", "mastodon-web", "matrix-synapse", "maddy", "nginx"} {
		if units[name].State != supervisor.StateActive {
			t.Errorf("%s is %s", name, units[name].State)
		}
	}
	web := "http://" + hostns.Address()
	for _, app := range []struct{ domain, healthPath, kind, version string }{
		{"social.alpha.test", "/health", "mastodon", "4.4.4"},
		{"matrix.alpha.test", "/health", "matrix", "1.140.0"},
	} {
		for _, path := range []string{app.healthPath, "/.well-known/fediversity/health"} {
			h := getHealth(t, web, app.domain, path)
			if h.Kind != app.kind || h.Version != app.version || h.Domain != app.domain || h.Status != "ok" {
				t.Errorf("%s%s: %+v", app.domain, path, h)
			}
		}
	}
	checkMailDelivery(t, web)
	checkSecretFiles(t, system)
}

type healthReport struct{ Kind, Version, Domain, Status string }

// getHealth asks through the web server, for domain, until it answers.
func getHealth(t *testing.T, base, domain, path string) healthReport {
	t.Helper()
	var h healthReport
	status, body := getFor(t, base, domain, path)
	for deadline := time.Now().Add(30 * time.Second); status != http.StatusOK && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		status, body = getFor(t, base, domain, path)
	}
	if status != http.StatusOK || json.Unmarshal(body, &h) != nil {
		t.Fatalf("%s%s: %d %s", domain, path, status, body)
	}
	return h
}

func getFor(t *testing.T, base, domain, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = domain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return resp.StatusCode, body
}

// checkMailDelivery sends mail to the operator's domain on port 25 and
// finds it in the Maildir, and through mail.<domain>.
func checkMailDelivery(t *testing.T, web string) {
	t.Helper()
	message := "From: zoe@sender.example\r\nTo: alice@alpha.test\r\nSubject: hello\r\n\r\nwelcome\r\n"
	if err := smtp.SendMail(hostns.Address()+":25", nil, "zoe@sender.example", []string{"alice@alpha.test"}, []byte(message)); err != nil {
		t.Fatalf("SMTP to alpha.test: %v", err)
	}
	newDir := "/var/lib/maddy/maildir/alpha.test/alice/new"
	entries, err := os.ReadDir(newDir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("%s: %v, %v", newDir, entries, err)
	}
	if data, err := os.ReadFile(filepath.Join(newDir, entries[0].Name())); err != nil || string(data) != message {
		t.Fatalf("delivered %q (%v), want %q", data, err, message)
	}
	sum := sha256.Sum256([]byte(message))
	var listing []struct{ ID, SHA256 string }
	status, body := getFor(t, web, "mail.alpha.test", "/api/mailboxes/alice")
	if status != http.StatusOK || json.Unmarshal(body, &listing) != nil || len(listing) != 1 || listing[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("mail.alpha.test lists alice's mail as %d %s", status, body)
	}
}

// checkSecretFiles: the secrets were generated with their owner and mode,
// and none of them is anywhere in the system's closure.
func checkSecretFiles(t *testing.T, system string) {
	t.Helper()
	for path, owner := range map[string]string{
		"/var/lib/fediversity-secrets/alpha/mastodon/secret_key_base":                      "mastodon",
		"/var/lib/fediversity-secrets/alpha/mastodon/active_record_encryption_primary_key": "mastodon",
		"/var/lib/fediversity-secrets/alpha/matrix/signing.key":                            "matrix-synapse",
		"/var/lib/maddy/dkim_keys/alpha.test_default.key":                                  "maddy",
	} {
		info, err := os.Stat(path)
		if err != nil {
			t.Errorf("secret %s: %v", path, err)
			continue
		}
		if got := ownerOf(info); got != owner || info.Mode().Perm() != 0o400 {
			t.Errorf("secret %s: owner %s, mode %04o; want %s, 0400", path, got, info.Mode().Perm(), owner)
		}
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if leaked := storeFilesContaining(t, system, strings.TrimSpace(string(content))); len(leaked) > 0 {
			t.Errorf("secret %s is in the store: %v", path, leaked)
		}
	}
}

func ownerOf(info os.FileInfo) string {
	uid := strconv.Itoa(int(info.Sys().(*syscall.Stat_t).Uid))
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}
