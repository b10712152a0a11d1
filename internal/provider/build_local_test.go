package provider_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

const localProfile = "/nix/var/nix/profiles/per-container/local/system"

// locallyBuilt is a container runtime built on this machine, with an
// operator and Mastodon.
func locallyBuilt(f *sandbox.Fleet, h sandbox.Host, nixpkgs, mastodonSettings string) string {
	return sandboxHostConfig(f, h, "30s") + fmt.Sprintf(`
resource "fediversity_runtime" "local" {
  name           = "local"
  host           = fediversity_host.h.endpoint
  kind           = "container"
  build_location = "local"
  nixpkgs        = %q
}

resource "fediversity_operator" "club" {
  name          = "club"
  runtime       = fediversity_runtime.local.target
  domain        = "local.example"
  contact_email = "board@local.example"
}

resource "fediversity_application" "mastodon" {
  operator               = fediversity_operator.club.target
  kind                   = "mastodon"
  retain_data_on_destroy = false
  %s
}
`, nixpkgs, mastodonSettings)
}

// With build_location = "local" the host builds nothing: this machine
// builds, the host receives the closure and switches; a no-op apply
// neither builds nor switches, a changed setting switches once.
func TestAccRuntime_buildLocally(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	nixpkgs := acctest.LocalBuild(t, h)
	var switches int
	countNow := func() { _, switches = activationsOf(t, h, localProfile) }
	expectSwitches := func(more int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			builds, s := activationsOf(t, h, localProfile)
			if builds != 0 || s != switches+more {
				return fmt.Errorf("the host built %d times and switched %d times, want no build and %d switches", builds, s-switches, more)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: countNow,
				Config:    locallyBuilt(f, h, nixpkgs, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkAppIn(t, "fediversity_runtime.local", "social.local.example", "mastodon", "4.4.4"),
					expectSwitches(3),
					resource.TestCheckResourceAttr("fediversity_runtime.local", "build_location", "local"),
				),
			},
			{
				PreConfig:        countNow,
				Config:           locallyBuilt(f, h, nixpkgs, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            expectSwitches(0),
			},
			{
				PreConfig: countNow,
				Config:    locallyBuilt(f, h, nixpkgs, "user_limit = 50"),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkAppIn(t, "fediversity_runtime.local", "social.local.example", "mastodon", "4.4.4"),
					expectSwitches(1),
				),
			},
		},
	})
}
