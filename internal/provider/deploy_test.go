package provider_test

import (
	"context"
	"fmt"
	"net/smtp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// deployment is a host, a runtime and an operator, plus whatever
// applications a test adds.
func deployment(f *sandbox.Fleet, h sandbox.Host, apps ...string) string {
	// A short health timeout keeps the tests of failing health checks quick.
	return sandboxHostConfig(f, h, "15s") + `
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
` + strings.Join(apps, "\n")
}

// sandboxHostConfig is the provider block, with the health timeout given, and the
// sandbox host h as fediversity_host.h.
func sandboxHostConfig(f *sandbox.Fleet, h sandbox.Host, healthTimeout string) string {
	return acctest.ProviderBlock(f, fmt.Sprintf("health_timeout = %q", healthTimeout)) + fmt.Sprintf(`
resource "fediversity_host" "h" {
  address  = %q
  host_key = %q
}
`, h.Address, h.HostKeys[0])
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

// askApp asks the application's own health endpoint over HTTP, at the
// host's address, for its domain.
func askApp(t *testing.T, h sandbox.Host, domain string) (acctest.AppHealth, error) {
	return askAppAt(t, h.Address, domain)
}

// askAppAt asks at a runtime's address.
func askAppAt(t *testing.T, address, domain string) (acctest.AppHealth, error) {
	t.Helper()
	return acctest.AskApp(address, domain)
}

func checkApp(t *testing.T, h sandbox.Host, domain, kind, version string) func(*terraform.State) error {
	return func(*terraform.State) error { return expectApp(t, h.Address, domain, kind, version) }
}

// checkAppIn checks an application at the address of the runtime named
// by its resource address, as the state has it.
func checkAppIn(t *testing.T, runtime, domain, kind, version string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		address := s.RootModule().Resources[runtime].Primary.Attributes["address"]
		if address == "" {
			return fmt.Errorf("%s has no address", runtime)
		}
		return expectApp(t, address, domain, kind, version)
	}
}

// expectApp checks that the application at address answers for its
// domain with its kind and version.
func expectApp(t *testing.T, address, domain, kind, version string) error {
	report, err := askAppAt(t, address, domain)
	if err != nil {
		return err
	}
	if report.Kind != kind || report.Version != version || report.Domain != domain {
		return fmt.Errorf("%s answered as %+v, want %s %s", domain, report, kind, version)
	}
	return nil
}

// systemProfile is the host runtime's profile.
const systemProfile = "/nix/var/nix/profiles/system"

// activations counts the builds and switches the host has made of its own
// system, from the provider's own log on the host.
func activations(t *testing.T, h sandbox.Host) (builds, switches int) {
	return activationsOf(t, h, systemProfile)
}

// activationsOf counts those of one profile.
func activationsOf(t *testing.T, h sandbox.Host, profile string) (builds, switches int) {
	t.Helper()
	out, err := h.Exec(context.Background(), "sh", "-c",
		`awk -v p="$1" '$1 == "build" && $2 == p { b++ } $1 == "switch" && $2 == p { s++ } END { print b+0, s+0 }' /var/log/fediversity/activations.log 2>/dev/null || echo 0 0`, "sh", profile).Output()
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
	return func(*terraform.State) error { return deliverMail(t, h, h.Address, to, "/") }
}

// deliverMail sends a message to the mail server at address and finds it
// in the recipient's Maildir under root (a container's, or "/") on the host.
func deliverMail(t *testing.T, h sandbox.Host, address, to, root string) error {
	body := "Subject: Grüße\r\n\r\nWelcome to the club. 🐘\r\n"
	if err := smtp.SendMail(address+":25", nil, "test@sender.example", []string{to}, []byte(body)); err != nil {
		return fmt.Errorf("delivering to %s at %s: %w", to, address, err)
	}
	local, domain, _ := strings.Cut(to, "@")
	out, _ := onHost(t, h, `grep -rl "Welcome to the club" "$3/var/lib/maddy" 2>/dev/null | grep -c "/$1/$2/" || true`, domain, local, root)
	if out == "0" || out == "" {
		return fmt.Errorf("the message to %s is not in its Maildir under %s", to, root)
	}
	return nil
}

// onHost runs a shell command inside a sandbox host, with the running
// system's programs first on PATH as in an SSH session.
func onHost(t *testing.T, h sandbox.Host, script string, args ...string) (string, error) {
	t.Helper()
	script = "PATH=/run/current-system/sw/bin:$PATH; " + script
	out, err := h.Exec(context.Background(), append([]string{"sh", "-c", script, "sh"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
