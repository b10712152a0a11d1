package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
)

// An operator with applications is built, activated and reachable; a
// no-op apply builds and switches nothing; a changed setting rebuilds once;
// every resource imports; a removed application stops and keeps its data.
func TestAccDeploy_operatorWithApplications(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	mastodon, matrix := application("mastodon"), application("matrix")
	var builds, switches int
	countNow := func() { builds, switches = activations(t, h) }
	expectActivations := func(moreBuilds, moreSwitches int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			b, s := activations(t, h)
			if b != builds+moreBuilds || s != switches+moreSwitches {
				return fmt.Errorf("%d builds and %d switches, want %d and %d", b-builds, s-switches, moreBuilds, moreSwitches)
			}
			return nil
		}
	}
	importKey := " " + h.HostKeys[0]
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			out, _ := onHost(t, h, `test ! -e /etc/fediversity/runtimes/web/fragments/runtime.json && test -d /var/lib/mastodon && echo kept`)
			if out != "kept" {
				return fmt.Errorf("after destroy: %q, want the desired state gone and the data kept", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: deployment(f, h, mastodon, matrix),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkApp(t, h, "social.club.example", "mastodon", "4.4.4"),
					checkApp(t, h, "matrix.club.example", "matrix", "1.140.0"),
					checkMailDelivery(t, h, "board@club.example"),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_runtime.rt", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("fediversity_application.mastodon", tfjsonpath.New("health"), knownvalue.StringExact("ok")),
					statecheck.ExpectKnownValue("fediversity_application.mastodon", tfjsonpath.New("url"), knownvalue.StringExact("https://social.club.example/")),
					statecheck.ExpectKnownValue("fediversity_application.matrix", tfjsonpath.New("subdomain"), knownvalue.StringExact("matrix")),
					statecheck.ExpectKnownValue("fediversity_application.mastodon", tfjsonpath.New("dns_records"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("social.club.example"), "type": knownvalue.StringExact("A"),
							"value": knownvalue.StringExact(h.Address), "ttl": knownvalue.Int64Exact(3600),
						}),
					})),
					statecheck.ExpectKnownValue("fediversity_operator.club", tfjsonpath.New("dns_records"), knownvalue.ListPartial(map[int]knownvalue.Check{
						1: knownvalue.ObjectPartial(map[string]knownvalue.Check{"type": knownvalue.StringExact("MX"), "value": knownvalue.StringExact("10 mail.club.example.")}),
						3: knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("default._domainkey.club.example"), "value": knownvalue.StringRegexp(regexp.MustCompile(`^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]{200,}$`)),
						}),
					})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				PreConfig: countNow,
				Config:    deployment(f, h, mastodon, matrix),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectActivations(0, 0),
			},
			{
				PreConfig: countNow,
				Config:    deployment(f, h, application("mastodon", "registrations_open = true"), matrix),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("fediversity_application.mastodon", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("fediversity_application.matrix", plancheck.ResourceActionNoop),
					},
				},
				Check: expectActivations(1, 1),
			},
			{ResourceName: "fediversity_runtime.rt", ImportState: true, ImportStateVerify: true,
				ImportStateId: h.Address + ":22/web" + importKey,
				// Applications deployed since the runtime's own apply moved its system on.
				ImportStateVerifyIgnore: []string{"host.host_key", "current_generation", "system"}},
			{ResourceName: "fediversity_operator.club", ImportState: true, ImportStateVerify: true,
				ImportStateId: h.Address + ":22/web/club" + importKey, ImportStateVerifyIgnore: []string{"runtime.host.host_key"}},
			{ResourceName: "fediversity_application.mastodon", ImportState: true, ImportStateVerify: true,
				ImportStateId: h.Address + ":22/web/club/mastodon" + importKey, ImportStateVerifyIgnore: []string{"operator.runtime.host.host_key"}},
			{
				Config: deployment(f, h, application("mastodon", "registrations_open = true")),
				Check: func(*terraform.State) error {
					if _, err := askApp(t, h, "matrix.club.example"); err == nil {
						return fmt.Errorf("matrix still answers after its application was destroyed")
					}
					if out, _ := onHost(t, h, `test -d /var/lib/matrix-synapse && echo kept`); out != "kept" {
						return fmt.Errorf("matrix's data is gone: %q", out)
					}
					return nil
				},
			},
		},
	})
}

// Bad application input is refused at plan time, naming the attribute.
func TestApplicationPlanTimeValidation(t *testing.T) {
	base := `
resource "fediversity_application" "bad" {
  operator = {
    name   = "club"
    domain = "club.example"
    runtime = {
      name = "web"
      host = { address = "192.0.2.1", port = 22, host_key = "` + validKey + `" }
    }
  }
`
	for name, c := range map[string]struct{ attrs, want string }{
		"unknown kind":        {`kind = "diaspora"`, `(?s)kind.*value must be one of`},
		"unsupported version": {`kind = "mastodon"` + "\n" + `version = "3.0.0"`, `(?s)Unsupported Application Version.*choose one of 4\.4\.4`},
		"bad subdomain":       {`kind = "mastodon"` + "\n" + `subdomain = "a.b"`, `(?s)subdomain.*one DNS label`},
	} {
		t.Run(name, func(t *testing.T) {
			expectPlanError(t, planOnlyProvider(t)+base+c.attrs+"\n}\n", c.want)
		})
	}
	expectPlanError(t, planOnlyProvider(t)+`
resource "fediversity_operator" "bad" {
  name          = "Club; rm -rf /"
  domain        = "club.example"
  contact_email = "board@club.example"
  runtime = { name = "web", host = { address = "192.0.2.1", port = 22 } }
}
`, `(?s)name.*lower-case letters`)
}

// Every kind deploys and answers for its own domain with its kind and
// version; destroying one with retain_data_on_destroy = false deletes its
// files, secrets and database, and nothing of the others.
func TestAccDeploy_everyKind(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	var apps []string
	var checks []resource.TestCheckFunc
	for _, app := range catalogue.All() {
		settings := []string{}
		if app.Kind == "pixelfed" {
			settings = append(settings, "retain_data_on_destroy = false")
		}
		apps = append(apps, application(app.Kind, settings...))
		checks = append(checks, checkApp(t, h, app.Subdomain+".club.example", app.Kind, app.Versions[0]))
	}
	withoutPixelfed := []string{}
	for _, a := range apps {
		if !strings.Contains(a, `"pixelfed"`) {
			withoutPixelfed = append(withoutPixelfed, a)
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: deployment(f, h, apps...), Check: resource.ComposeAggregateTestCheckFunc(checks...)},
			{
				Config: deployment(f, h, withoutPixelfed...),
				Check: func(*terraform.State) error {
					out, _ := onHost(t, h, `
ls -d /var/lib/pixelfed /var/lib/fediversity-secrets/club/pixelfed 2>/dev/null
runuser -u postgres -- psql -Atc "select datname from pg_database where datname in ('pixelfed', 'mastodon')"`)
					if out != "mastodon" {
						return fmt.Errorf("after destroying pixelfed with retain_data_on_destroy = false, left on the host: %q (want only mastodon's database)", out)
					}
					return nil
				},
			},
		},
	})
}
