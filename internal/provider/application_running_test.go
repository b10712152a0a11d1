package provider_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// Matrix declared with running = false beside a running Mastodon: the
// apply passes without Matrix's health check, its unit does not run, its
// secrets are there; running = true starts it behind the health gate;
// running = false again stops it and keeps its data. Every step's refresh
// plans nothing.
func TestAccApplicationRunning_declaredButNotStarted(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	config := func(running string) string {
		return deployment(f, h,
			application("mastodon", "retain_data_on_destroy = false"),
			application("matrix", "retain_data_on_destroy = false", "running = "+running))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config("false"),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkApp(t, h, "social.club.example", "mastodon", "4.4.4"),
					expectUnits(t, h, "", map[string]string{"matrix-synapse": "inactive", "mastodon-web": "active"}),
					expectOnHost(t, h, "Matrix's signing key", `test -s /var/lib/fediversity-secrets/club/matrix/signing.key && echo yes`, "yes"),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_application.matrix", tfjsonpath.New("running"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("fediversity_application.matrix", tfjsonpath.New("health"), knownvalue.StringExact("stopped")),
					statecheck.ExpectKnownValue("fediversity_application.mastodon", tfjsonpath.New("running"), knownvalue.Bool(true)),
				},
			},
			{
				Config: config("true"),
				Check:  checkApp(t, h, "matrix.club.example", "matrix", "1.140.0"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_application.matrix", tfjsonpath.New("health"), knownvalue.StringExact("ok")),
				},
			},
			{
				Config: config("false"),
				Check: resource.ComposeAggregateTestCheckFunc(
					expectUnits(t, h, "", map[string]string{"matrix-synapse": "inactive", "mastodon-web": "active"}),
					expectOnHost(t, h, "Matrix's data", `test -s /var/lib/fediversity-secrets/club/matrix/signing.key && test -d /var/lib/matrix-synapse &&
cd / && runuser -u postgres -- psql -tAc "SELECT datname FROM pg_database WHERE datname = 'matrix-synapse'"`, "matrix-synapse"),
					checkApp(t, h, "social.club.example", "mastodon", "4.4.4"),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_application.matrix", tfjsonpath.New("health"), knownvalue.StringExact("stopped")),
				},
			},
			{ResourceName: "fediversity_application.matrix", ImportState: true, ImportStateVerify: true,
				ImportStateId:           h.Address + ":22/web/club/matrix " + h.HostKeys[0],
				ImportStateVerifyIgnore: []string{"operator.runtime.host.host_key", "retain_data_on_destroy"}},
		},
	})
}

// A container runtime whose applications are all stopped runs neither its
// database, web nor mail server; deleting a stopped application's data
// starts the database server for the drop; running = true starts
// everything behind the health gate.
func TestAccApplicationRunning_runtimeOfStoppedApplications(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[1]
	config := func(mastodonRunning string, pixelfed bool) string {
		apps := []string{application("mastodon", "running = "+mastodonRunning, "retain_data_on_destroy = false")}
		if pixelfed {
			apps = append(apps, application("pixelfed", "running = false", "retain_data_on_destroy = false"))
		}
		return idleRuntime(f, h) + strings.Join(apps, "\n")
	}
	shared := []string{"postgresql", "postgresql-setup", "nginx", "maddy"}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config("false", true),
				Check: resource.ComposeAggregateTestCheckFunc(
					expectUnits(t, h, idleContainer, unitStates("inactive", append([]string{"mastodon-web", "phpfpm-pixelfed"}, shared...)...)),
					expectOnHost(t, h, "the secrets", `cd "$1/var/lib/fediversity-secrets/idle" && ls mastodon/secret_key_base pixelfed/app_key.env`,
						"mastodon/secret_key_base\npixelfed/app_key.env", idleRoot),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_application.mastodon", tfjsonpath.New("health"), knownvalue.StringExact("stopped")),
				},
			},
			{
				Config: config("false", false),
				Check: expectOnHost(t, h, "pixelfed's secrets", `test -e "$1/var/lib/fediversity-secrets/idle/pixelfed" && echo kept || echo deleted`,
					"deleted", idleRoot),
			},
			{
				Config: config("true", false),
				Check: resource.ComposeAggregateTestCheckFunc(
					expectUnits(t, h, idleContainer, unitStates("active", append([]string{"mastodon-web"}, shared...)...)),
					checkAppIn(t, "fediversity_runtime.idle", "social.idle.example", "mastodon", "4.4.4"),
				),
			},
		},
	})
}

const (
	idleContainer = "idle"
	idleRoot      = "/var/lib/nixos-containers/" + idleContainer
)

// idleRuntime is the operator idle in a container runtime of its own, as
// fediversity_operator.club, which application() names.
func idleRuntime(f *sandbox.Fleet, h sandbox.Host) string {
	return sandboxHostConfig(f, h, "30s") + `
resource "fediversity_runtime" "idle" {
  name = "idle"
  host = fediversity_host.h.endpoint
  kind = "container"
}

resource "fediversity_operator" "club" {
  name          = "idle"
  runtime       = fediversity_runtime.idle.target
  domain        = "idle.example"
  contact_email = "board@idle.example"
}
`
}

func unitStates(state string, units ...string) map[string]string {
	want := map[string]string{}
	for _, u := range units {
		want[u] = state
	}
	return want
}

// expectUnits checks units' states as systemctl reports them, on the host
// or in a container of it.
func expectUnits(t *testing.T, h sandbox.Host, container string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var errs []string
		for unit, state := range want {
			script := `systemctl is-active "$1"`
			if container != "" {
				script = `nixos-container run "$2" -- systemctl is-active "$1"`
			}
			out, _ := onHost(t, h, script, unit, container)
			if out != state {
				errs = append(errs, fmt.Sprintf("%s is %q, want %q", unit, out, state))
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("units%s: %s", map[bool]string{true: " in " + container}[container != ""], strings.Join(errs, "; "))
		}
		return nil
	}
}

// expectOnHost runs a script on the host and compares what it prints.
func expectOnHost(t *testing.T, h sandbox.Host, what, script, want string, args ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if out, _ := onHost(t, h, script, args...); out != want {
			return fmt.Errorf("%s: %q, want %q", what, out, want)
		}
		return nil
	}
}
