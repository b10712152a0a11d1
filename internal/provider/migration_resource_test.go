package provider_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// Two hosting providers: "old" on host A with the fleet's key, the new one
// on host B; the migration reaches A with a key of its own (the old
// provider's credentials given to the new one).
type twoProviders struct {
	f         *sandbox.Fleet
	a, b      sandbox.Host
	sourceKey string // authorised on A only
	name      string // the operator's, its runtimes' and containers' on both hosts
}

func (p twoProviders) domain() string { return p.name + ".example" }

// named puts the operator's name into a configuration for NAME.
func (p twoProviders) named(config string) string { return strings.ReplaceAll(config, "NAME", p.name) }

// config is the old provider's configuration: the operator on A.
func (p twoProviders) config() string { return p.configWith("") }

// configWith is config with appsExtra in each application's block.
func (p twoProviders) configWith(appsExtra string) string {
	return acctest.ProviderBlock(p.f, `health_timeout = "30s"`) + p.named(fmt.Sprintf(`
resource "fediversity_host" "a" {
  address  = %q
  host_key = %q
}

resource "fediversity_runtime" "a" {
  name = "NAME"
  host = fediversity_host.a.endpoint
  kind = "container"
}

resource "fediversity_operator" "a" {
  name          = "NAME"
  runtime       = fediversity_runtime.a.target
  domain        = "NAME.example"
  contact_email = "board@NAME.example"
}
`, p.a.Address, p.a.HostKeys[0])) + appsOf("a", "fediversity_operator.a.target", appsExtra)
}

// newConfig is the new provider's: B, and the operator moving in from A,
// whose old resources this state forgets (they live in the old provider's
// state; nothing of them is destroyed).
func (p twoProviders) newConfig(extra ...string) string {
	forget := ""
	for _, r := range []string{"fediversity_host.a", "fediversity_runtime.a", "fediversity_operator.a",
		"fediversity_application.a_mastodon", "fediversity_application.a_matrix", "fediversity_application.a_pixelfed"} {
		forget += fmt.Sprintf("\nremoved {\n  from = %s\n  lifecycle {\n    destroy = false\n  }\n}\n", r)
	}
	return p.targetConfig(extra...) + forget
}

// targetConfig is B and its runtime for the operator, with extra.
func (p twoProviders) targetConfig(extra ...string) string {
	return acctest.ProviderBlock(p.f, `health_timeout = "30s"`) + p.named(fmt.Sprintf(`
resource "fediversity_host" "b" {
  address  = %q
  host_key = %q
}

resource "fediversity_runtime" "b" {
  name = "NAME"
  host = fediversity_host.b.endpoint
  kind = "container"
}
`, p.b.Address, p.b.HostKeys[0])) + p.named(strings.Join(extra, "\n"))
}

// appsOf declares Mastodon, Matrix and Pixelfed of an operator.
func appsOf(prefix, operator, extra string) string {
	var apps string
	for _, kind := range []string{"mastodon", "matrix", "pixelfed"} {
		apps += fmt.Sprintf("\nresource \"fediversity_application\" \"%s_%s\" {\n  operator = %s\n  kind     = %q\n  %s\n}\n", prefix, kind, operator, kind, extra)
	}
	return apps
}

func (p twoProviders) migration(finalize bool) string {
	return p.named(fmt.Sprintf(`
resource "fediversity_migration" "NAME" {
  operator = "NAME"
  source = {
    host             = { address = %q, port = %d, host_key = %q }
    runtime          = "NAME"
    private_key_file = %q
  }
  target   = fediversity_runtime.b.target
  finalize = %t
}
`, p.a.Address, p.a.Port, p.a.HostKeys[0], p.sourceKey, finalize))
}

// adopted is the new provider's operator and applications, declared once
// the migration put them on B.
var adopted = `
resource "fediversity_operator" "b" {
  name          = "NAME"
  runtime       = fediversity_runtime.b.target
  domain        = "NAME.example"
  contact_email = "board@NAME.example"
  depends_on    = [fediversity_migration.NAME]
}
` + appsOf("b", "fediversity_operator.b.target", "")

// An operator with Mastodon, Matrix, Pixelfed and mail moves from provider
// A to provider B: every post, upload and mail B serves afterwards is
// byte for byte what A served before; B's apps start with A's secrets (the
// stand-ins refuse others); the new provider's resources adopt what the
// migration deployed without a rebuild; A's data stays until finalize.
func TestAccMigration_betweenProviders(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	p := twoProviders{f: f, a: f.Hosts[0], b: f.Hosts[1], sourceKey: acctest.StrangerKey(t), name: "club"}
	profile := "/nix/var/nix/profiles/per-container/club/system"
	var before served
	var builds int
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: p.config()},
			{
				PreConfig: func() {
					authorize(t, p.a, p.sourceKey)
					before = fillWithData(t, p.a, p.name)
					if out, err := inMatrixDatabase(t, p.a, p.name, `INSERT INTO e2e_one_time_keys_json (user_id, key_id, key_json) VALUES ('@a:club.example', 'k1', '{}'), ('@b:club.example', 'k2', '{}')`); err != nil {
						t.Fatalf("one-time keys at the source: %v: %s", err, out)
					}
				},
				Config: p.newConfig(p.migration(false)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					// Known from the plan on, so that adopting resources can use them.
					plancheck.ExpectKnownValue("fediversity_migration.club", tfjsonpath.New("applications"), knownvalue.ListSizeExact(3)),
					plancheck.ExpectKnownValue("fediversity_migration.club", tfjsonpath.New("moves"), knownvalue.NotNull()),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("fediversity_migration.club", "phase", "start"),
					resource.TestCheckResourceAttr("fediversity_migration.club", "applications.#", "3"),
					expectMoves("fediversity_migration.club", "/var/lib/mastodon", 65<<20),
					expectMoves("fediversity_migration.club", "database mastodon", 1),
					func(s *terraform.State) error {
						return before.expectServedBy(t, runtimeAddress(s, "fediversity_runtime.b"), p.name)
					},
					func(*terraform.State) error { return expectDataAt(t, p.a, p.name, true) },
					func(*terraform.State) error { return expectStopped(t, p.a, p.name) },
					func(*terraform.State) error { return expectUsedKey(t, p.a, p.sourceKey) },
					// Synapse's rule: one-time keys stay behind; the source keeps its own.
					func(*terraform.State) error { return expectOneTimeKeys(t, p.b, p.name, "0") },
					func(*terraform.State) error { return expectOneTimeKeys(t, p.a, p.name, "2") },
				),
			},
			{
				PreConfig: func() { builds, _ = activationsOf(t, p.b, profile) },
				Config:    p.newConfig(p.migration(false), adopted),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error {
						if b, _ := activationsOf(t, p.b, profile); b != builds {
							return fmt.Errorf("adopting the migrated operator rebuilt the target %d times, want none", b-builds)
						}
						return nil
					},
					func(s *terraform.State) error {
						return before.expectServedBy(t, runtimeAddress(s, "fediversity_runtime.b"), p.name)
					},
				),
			},
			{
				Config: p.newConfig(p.migration(true), adopted),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("fediversity_migration.club", "phase", "finalize"),
					func(*terraform.State) error { return expectDataAt(t, p.a, p.name, false) },
					func(s *terraform.State) error {
						return before.expectServedBy(t, runtimeAddress(s, "fediversity_runtime.b"), p.name)
					},
				),
			},
		},
	})
}

// expectMoves checks that the plan measured what at least least bytes.
func expectMoves(resourceName, what string, least int64) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		attrs := s.RootModule().Resources[resourceName].Primary.Attributes
		for i := 0; attrs[fmt.Sprintf("moves.%d.what", i)] != ""; i++ {
			if attrs[fmt.Sprintf("moves.%d.what", i)] != what {
				continue
			}
			if n, _ := strconv.ParseInt(attrs[fmt.Sprintf("moves.%d.bytes", i)], 10, 64); n < least {
				return fmt.Errorf("moves says %s is %d bytes, want at least %d", what, n, least)
			}
			return nil
		}
		return fmt.Errorf("moves does not list %s", what)
	}
}

// inMatrixDatabase runs SQL in the Synapse database of the operator's
// container on h.
func inMatrixDatabase(t *testing.T, h sandbox.Host, name, sql string) (string, error) {
	return onHost(t, h, `nixos-container run "$1" -- sh -c 'cd / && exec runuser -u postgres -- psql -X -At -h /run/postgresql -d matrix-synapse -c "$1"' sh "$2"`, name, sql)
}

// expectOneTimeKeys checks how many one-time keys Synapse's database holds.
func expectOneTimeKeys(t *testing.T, h sandbox.Host, name, want string) error {
	out, err := inMatrixDatabase(t, h, name, "SELECT count(*) FROM e2e_one_time_keys_json")
	switch {
	case err != nil:
		return fmt.Errorf("counting one-time keys on %s: %w: %s", h.Name, err, out)
	case out != want:
		return fmt.Errorf("%s one-time keys on %s, want %s", out, h.Name, want)
	}
	return nil
}

func runtimeAddress(s *terraform.State, name string) string {
	return s.RootModule().Resources[name].Primary.Attributes["address"]
}

// authorize lets keyFile's key log in to h as root, beside the fleet's.
func authorize(t *testing.T, h sandbox.Host, keyFile string) {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	// The host's sshd reads the authorized_keys of its state dir.
	f, err := os.OpenFile(filepath.Join(h.StateDir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write(ssh.MarshalAuthorizedKey(signer.PublicKey()))
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatalf("authorising the source key on %s: %v", h.Name, err)
	}
}

// expectUsedKey finds in A's sshd log a login with the source key.
func expectUsedKey(t *testing.T, h sandbox.Host, keyFile string) error {
	pem, _ := os.ReadFile(keyFile)
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return err
	}
	log, _ := os.ReadFile(filepath.Join(h.StateDir, "sshd.log"))
	if !bytes.Contains(log, []byte(ssh.FingerprintSHA256(signer.PublicKey()))) {
		return fmt.Errorf("A's sshd log shows no login with the source's key %s", ssh.FingerprintSHA256(signer.PublicKey()))
	}
	return nil
}

// expectStopped checks that the source's apps no longer answer.
func expectStopped(t *testing.T, h sandbox.Host, name string) error {
	address := containerAddress(t, h, name)
	for _, sub := range []string{"social", "matrix", "pixelfed"} {
		if _, err := askAppAt(t, address, sub+"."+name+".example"); err == nil {
			return fmt.Errorf("%s.%s.example still answers at the source", sub, name)
		}
	}
	return nil
}

// expectDataAt checks that A's container still holds (or no longer holds)
// the operator's files and databases.
func expectDataAt(t *testing.T, h sandbox.Host, name string, kept bool) error {
	out, _ := onHost(t, h, `cd "/var/lib/nixos-containers/$1/var/lib" && ls -d mastodon matrix-synapse "fediversity-secrets/$1/mastodon" "maddy/maildir/$1.example" 2>/dev/null | wc -l`, name)
	want := "4"
	if !kept {
		want = "0"
	}
	if out != want {
		return fmt.Errorf("%s of the operator's 4 directories at the source, want %s", out, want)
	}
	return nil
}

// served is what an operator's apps serve: each listing and each upload.
type served map[string][]byte // "domain path" -> body

// servedPaths is what is read back, per subdomain: listings, then where
// uploads go (empty for the mail server).
var servedPaths = map[string][]string{
	"social":   {"/api/posts", "/api/uploads"},
	"matrix":   {"/api/posts", "/_matrix/media"},
	"pixelfed": {"/api/posts", "/api/uploads"},
	"mail":     {"/api/mailboxes/board"},
}

// uploadNames include an empty file, spaces and non-ASCII.
var uploadNames = []string{"empty", "with space.txt", "grüße 🐘.bin", "big.bin"}

// fillWithData creates posts, uploads and mail through the apps of the
// operator name on A, and returns what A serves.
func fillWithData(t *testing.T, h sandbox.Host, name string) served {
	t.Helper()
	address := containerAddress(t, h, name)
	big := make([]byte, 65<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	for sub, paths := range servedPaths {
		if sub == "mail" {
			continue
		}
		domain := sub + "." + name + ".example"
		for i := range 300 {
			body := fmt.Sprintf(`{"author":"tester","body":"Post %d: grüße, 🐘, \"quoted\", <tag> & ünïcödé"}`, i)
			httpDo(t, http.MethodPost, address, domain, "/api/posts", strings.NewReader(body), http.StatusCreated)
		}
		for _, upload := range uploadNames {
			content := []byte("content of " + upload)
			switch upload {
			case "empty":
				content = nil
			case "big.bin":
				content = big
			}
			httpDo(t, http.MethodPut, address, domain, paths[1]+"/"+url.PathEscape(upload), bytes.NewReader(content), http.StatusCreated)
		}
	}
	if err := deliverMail(t, h, address, "board@"+name+".example", "/var/lib/nixos-containers/"+name); err != nil {
		t.Fatal(err)
	}
	return readServed(t, address, name)
}

func readServed(t *testing.T, address, name string) served {
	s := served{}
	for sub, paths := range servedPaths {
		domain := sub + "." + name + ".example"
		for _, p := range paths {
			s[domain+" "+p] = httpDo(t, http.MethodGet, address, domain, p, nil, http.StatusOK)
		}
		if sub == "mail" {
			continue
		}
		for _, upload := range uploadNames {
			p := paths[1] + "/" + url.PathEscape(upload)
			s[domain+" "+p] = httpDo(t, http.MethodGet, address, domain, p, nil, http.StatusOK)
		}
	}
	return s
}

// expectServedBy compares what the runtime at address serves with s.
func (s served) expectServedBy(t *testing.T, address, name string) error {
	now := readServed(t, address, name)
	for key, body := range s {
		if !bytes.Equal(now[key], body) {
			return fmt.Errorf("%s at %s differs from what the source served (%d bytes, was %d)", key, address, len(now[key]), len(body))
		}
	}
	return nil
}

func containerAddress(t *testing.T, h sandbox.Host, name string) string {
	out, err := onHost(t, h, `nixos-container show-ip "$1"`, name)
	if err != nil {
		t.Fatalf("container %s: %v %s", name, err, out)
	}
	return out
}

// httpDo sends one request to an app for its domain and expects status.
func httpDo(t *testing.T, method, address, domain, p string, body io.Reader, status int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+address+p, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = domain
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, domain, p, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s%s: %s: %s", method, domain, p, resp.Status, out)
	}
	return out
}
