package provider_test

import (
	"fmt"
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
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// The container runtime of TestAccContainerRuntime: its name is too long
// for nixos-container, so it gets a stable short one.
const (
	longRuntimeName = "clubhouse-runtime"
	clubContainer   = "clubho-ae57"
	clubProfile     = "/nix/var/nix/profiles/per-container/" + clubContainer + "/system"
	clubRoot        = "/var/lib/nixos-containers/" + clubContainer
)

// twoRuntimes is one operator with the given applications on a container
// runtime and another, with Mastodon, on the host's own system.
func twoRuntimes(f *sandbox.Fleet, h sandbox.Host, clubApps ...string) string {
	return sandboxHostConfig(f, h, "30s") + fmt.Sprintf(`
resource "fediversity_runtime" "club" {
  name = %q
  host = fediversity_host.h.endpoint
  kind = "container"
}

resource "fediversity_operator" "club" {
  name          = "club"
  runtime       = fediversity_runtime.club.target
  domain        = "club.example"
  contact_email = "board@club.example"
}

resource "fediversity_runtime" "web" {
  name = "web"
  host = fediversity_host.h.endpoint
}

resource "fediversity_operator" "corner" {
  name          = "corner"
  runtime       = fediversity_runtime.web.target
  domain        = "corner.example"
  contact_email = "hello@corner.example"
}

# Leaves nothing behind for the next test on this host's system.
resource "fediversity_application" "corner_mastodon" {
  operator               = fediversity_operator.corner.target
  kind                   = "mastodon"
  retain_data_on_destroy = false
}
`, longRuntimeName) + strings.Join(clubApps, "\n")
}

// everyKindFor is one application of each kind for the club.
func everyKindFor(settings map[string]string) []string {
	var apps []string
	for _, app := range catalogue.All() {
		apps = append(apps, fmt.Sprintf(`
resource "fediversity_application" "club_%s" {
  operator = fediversity_operator.club.target
  kind     = %q
  %s
}
`, app.Kind, app.Kind, settings[app.Kind]))
	}
	return apps
}

// One operator with all six kinds in a NixOS container and another on the
// host's own system: every application answers on its runtime's address
// for its own domain; a changed setting rebuilds the container once; a
// no-op apply builds and switches nothing; every resource imports; an
// application destroyed with retain_data_on_destroy = false loses its data
// in the container, one destroyed with the default keeps it.
func TestAccContainerRuntime_besideHostRuntime(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[1]
	var checks []resource.TestCheckFunc
	for _, app := range catalogue.All() {
		checks = append(checks, checkAppIn(t, "fediversity_runtime.club", app.Subdomain+".club.example", app.Kind, app.Versions[0]))
	}
	checks = append(checks,
		// Creating the container, adding the operator, then its six
		// applications together: at most one build and switch each.
		func(*terraform.State) error {
			if b, s := activationsOf(t, h, clubProfile); b > 3 || s > 3 {
				return fmt.Errorf("creating the club's container with its operator and six applications took %d builds and %d switches, want at most 3 of each", b, s)
			}
			return nil
		},
		checkAppIn(t, "fediversity_runtime.web", "social.corner.example", "mastodon", "4.4.4"),
		checkApp(t, h, "social.corner.example", "mastodon", "4.4.4"),
		checkContainerUp(t, h),
		checkMailDeliveryIn(t, h, "fediversity_runtime.club", "board@club.example", clubRoot),
	)
	var builds, switches int
	countNow := func() { builds, switches = activationsOf(t, h, clubProfile) }
	expectActivations := func(moreBuilds, moreSwitches int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			b, s := activationsOf(t, h, clubProfile)
			if b != builds+moreBuilds || s != switches+moreSwitches {
				return fmt.Errorf("container: %d builds and %d switches, want %d and %d", b-builds, s-switches, moreBuilds, moreSwitches)
			}
			return nil
		}
	}
	importKey := " " + h.HostKeys[0]
	withoutTwo := everyKindFor(map[string]string{"pixelfed": "retain_data_on_destroy = false"})[:0]
	for _, app := range everyKindFor(map[string]string{"pixelfed": "retain_data_on_destroy = false"}) {
		if !strings.Contains(app, `"pixelfed"`) && !strings.Contains(app, `"matrix"`) {
			withoutTwo = append(withoutTwo, app)
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			out, _ := onHost(t, h, `nixos-container status "$1"; test -d "$2/var/lib/mastodon" && echo kept`, clubContainer, clubRoot)
			if out != "down\nkept" {
				return fmt.Errorf("after destroy: %q, want the container stopped and its data kept", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: twoRuntimes(f, h, everyKindFor(map[string]string{"pixelfed": "retain_data_on_destroy = false"})...),
				Check:  resource.ComposeAggregateTestCheckFunc(checks...),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("fediversity_runtime.club", tfjsonpath.New("container_name"), knownvalue.StringExact(clubContainer)),
					statecheck.ExpectKnownValue("fediversity_runtime.club", tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("fediversity_runtime.web", tfjsonpath.New("address"), knownvalue.StringExact(h.Address)),
					statecheck.CompareValuePairs("fediversity_runtime.club", tfjsonpath.New("address"),
						"fediversity_application.club_mastodon", tfjsonpath.New("dns_records").AtSliceIndex(0).AtMapKey("value"), compareEqual{}),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				PreConfig:        countNow,
				Config:           twoRuntimes(f, h, everyKindFor(map[string]string{"pixelfed": "retain_data_on_destroy = false"})...),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            expectActivations(0, 0),
			},
			{
				PreConfig: countNow,
				Config:    twoRuntimes(f, h, everyKindFor(map[string]string{"pixelfed": "retain_data_on_destroy = false", "mastodon": "registrations_open = true"})...),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("fediversity_application.club_mastodon", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("fediversity_application.corner_mastodon", plancheck.ResourceActionNoop),
				}},
				Check: expectActivations(1, 1),
			},
			{ResourceName: "fediversity_runtime.club", ImportState: true, ImportStateVerify: true,
				ImportStateId:           h.Address + ":22/" + longRuntimeName + importKey,
				ImportStateVerifyIgnore: []string{"host.host_key", "current_generation", "system"}},
			{ResourceName: "fediversity_operator.club", ImportState: true, ImportStateVerify: true,
				ImportStateId: h.Address + ":22/" + longRuntimeName + "/club" + importKey, ImportStateVerifyIgnore: []string{"runtime.host.host_key"}},
			{ResourceName: "fediversity_application.club_immich", ImportState: true, ImportStateVerify: true,
				ImportStateId: h.Address + ":22/" + longRuntimeName + "/club/immich" + importKey, ImportStateVerifyIgnore: []string{"operator.runtime.host.host_key"}},
			{
				Config: twoRuntimes(f, h, withoutTwo...),
				Check: func(s *terraform.State) error {
					address := s.RootModule().Resources["fediversity_runtime.club"].Primary.Attributes["address"]
					for _, domain := range []string{"pixelfed.club.example", "matrix.club.example"} {
						if _, err := askAppAt(t, address, domain); err == nil {
							return fmt.Errorf("%s still answers after its application was destroyed", domain)
						}
					}
					out, _ := onHost(t, h, `cd "$1" && ls -d var/lib/matrix-synapse var/lib/pixelfed var/lib/fediversity-secrets/club/pixelfed 2>&1 | sort`, clubRoot)
					if !strings.HasPrefix(out, "ls: cannot access 'var/lib/fediversity-secrets/club/pixelfed'") ||
						!strings.Contains(out, "cannot access 'var/lib/pixelfed'") || !strings.HasSuffix(out, "var/lib/matrix-synapse") {
						return fmt.Errorf("in the container, want matrix's data kept and pixelfed's deleted; found:\n%s", out)
					}
					return nil
				},
			},
		},
	})
}

// compareEqual is a compare.ValueComparer for two equal values.
type compareEqual struct{}

func (compareEqual) CompareValues(values ...any) error {
	if len(values) != 2 || values[0] != values[1] {
		return fmt.Errorf("want equal values, got %v", values)
	}
	return nil
}

// checkContainerUp checks the club's container runs with its own address.
func checkContainerUp(t *testing.T, h sandbox.Host) func(*terraform.State) error {
	return func(s *terraform.State) error {
		out, _ := onHost(t, h, `nixos-container status "$1"; nixos-container show-ip "$1"`, clubContainer)
		address := s.RootModule().Resources["fediversity_runtime.club"].Primary.Attributes["address"]
		if out != "up\n"+address || address == h.Address {
			return fmt.Errorf("container %s: %q, want up at its own address %s", clubContainer, out, address)
		}
		return nil
	}
}

// checkMailDeliveryIn delivers mail at the runtime's address and finds it
// in the Maildir under root on the host.
func checkMailDeliveryIn(t *testing.T, h sandbox.Host, runtime, to, root string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		return deliverMail(t, h, s.RootModule().Resources[runtime].Primary.Attributes["address"], to, root)
	}
}

// Bad container settings are refused at plan time, naming the attribute.
func TestRuntimeContainerPlanTimeValidation(t *testing.T) {
	runtime := func(attrs string) string {
		return planOnlyProvider(t) + `
resource "fediversity_runtime" "bad" {
  name = "club"
  host = { address = "192.0.2.1", port = 22, host_key = "` + validKey + `" }
  ` + attrs + `
}
`
	}
	for name, c := range map[string]struct{ attrs, want string }{
		"container name on a host runtime": {`container_name = "club"`, `(?s)Container Name Without Container.*set kind = "container", or remove\s+container_name`},
		"container name too long":          {`kind = "container"` + "\n" + `container_name = "twelve-chars"`, `(?s)container_name.*1-11 lower-case letters`},
		"unknown kind":                     {`kind = "vm"`, `(?s)kind.*value must be one of`},
		"unknown build location":           {`build_location = "cloud"`, `(?s)build_location.*value must be one of`},
	} {
		t.Run(name, func(t *testing.T) { expectPlanError(t, runtime(c.attrs), c.want) })
	}
}
