package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// deployment is a host, a runtime and an operator, plus whatever
// applications a test adds.
func deployment(f *sandbox.Fleet, h sandbox.Host, apps ...string) string {
	// A short health timeout keeps the tests of failing health checks quick.
	return acctest.ProviderBlock(f, `health_timeout = "15s"`) + fmt.Sprintf(`
resource "fediversity_host" "h" {
  address  = %q
  host_key = %q
}

resource "fediversity_runtime" "rt" {
  name = "web"
  host = fediversity_host.h.endpoint
}

resource "fediversity_operator" "club" {
  name          = "club"
  runtime       = fediversity_runtime.rt.target
  domain        = "club.example"
  contact_email = "board@club.example"
}
`, h.Address, h.HostKeys[0]) + strings.Join(apps, "\n")
}

func application(kind string, settings ...string) string {
	return fmt.Sprintf(`
resource "fediversity_application" %q {
  operator = fediversity_operator.club.target
  kind     = %q
  %s
}
`, kind, kind, strings.Join(settings, "\n  "))
}

// appHealth is what a stand-in app says about itself.
type appHealth struct {
	Kind, Version, Domain, Status string
}

// askApp asks the application's own health endpoint over HTTP, at the
// host's address, for its domain.
func askApp(t *testing.T, h sandbox.Host, domain string) (appHealth, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+h.Address+"/.well-known/fediversity/health", nil)
	req.Host = domain
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return appHealth{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var report appHealth
	if err := json.Unmarshal(body, &report); err != nil || resp.StatusCode != http.StatusOK {
		return report, fmt.Errorf("%s answered %s: %s", domain, resp.Status, body)
	}
	return report, nil
}

func checkApp(t *testing.T, h sandbox.Host, domain, kind, version string) func(*terraform.State) error {
	return func(*terraform.State) error {
		report, err := askApp(t, h, domain)
		if err != nil {
			return err
		}
		if report.Kind != kind || report.Version != version || report.Domain != domain {
			return fmt.Errorf("%s answered as %+v, want %s %s", domain, report, kind, version)
		}
		return nil
	}
}

// activations counts the builds and switches the host has made, from the
// provider's own log on the host.
func activations(t *testing.T, h sandbox.Host) (builds, switches int) {
	t.Helper()
	out, err := h.Exec(context.Background(), "sh", "-c",
		`f=/var/log/fediversity/activations.log; echo $(grep -c '^build /nix/var/nix/profiles/system' $f 2>/dev/null || echo 0) $(grep -c '^switch /nix/var/nix/profiles/system' $f 2>/dev/null || echo 0)`).Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(out))
	builds, _ = strconv.Atoi(fields[0])
	switches, _ = strconv.Atoi(fields[1])
	return builds, switches
}

// checkMailDelivery sends a message over SMTP to the host's port 25 and
// finds it, byte for byte, in the recipient's Maildir on the host.
func checkMailDelivery(t *testing.T, h sandbox.Host, to string) func(*terraform.State) error {
	return func(*terraform.State) error {
		body := "Subject: Grüße\r\n\r\nWelcome to the club. 🐘\r\n"
		if err := smtp.SendMail(h.Address+":25", nil, "test@sender.example", []string{to}, []byte(body)); err != nil {
			return fmt.Errorf("delivering to %s: %w", to, err)
		}
		local, domain, _ := strings.Cut(to, "@")
		out, _ := onHost(t, h, `grep -rl "Welcome to the club" /var/lib/maddy 2>/dev/null | grep -c "/$1/$2/" || true`, domain, local)
		if out == "0" || out == "" {
			return fmt.Errorf("the message to %s is not in its Maildir", to)
		}
		return nil
	}
}

// onHost runs a shell command inside a sandbox host.
func onHost(t *testing.T, h sandbox.Host, script string, args ...string) (string, error) {
	t.Helper()
	out, err := h.Exec(context.Background(), append([]string{"sh", "-c", script, "sh"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
