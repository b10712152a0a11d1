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
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

func runtimeConfig(f *sandbox.Fleet, h sandbox.Host, name string, extra ...string) string {
	return acctest.ProviderBlock(f) + fmt.Sprintf(`
resource "fediversity_host" "h" {
  address  = %q
  host_key = %q
}

resource "fediversity_runtime" "rt" {
  name = %q
  host = fediversity_host.h.endpoint
  %s
}
`, h.Address, h.HostKeys[0], name, strings.Join(extra, "\n  "))
}

// A runtime builds and activates a base system, refreshes to an empty plan,
// updates in place, imports, and on destroy forgets its desired state.
func TestAccRuntime_lifecycle(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[1]
	const addr = "fediversity_runtime.rt"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			out, _ := onHost(t, h, `test -e /etc/fediversity/runtimes/base/fragments/runtime.json && echo still there; readlink /nix/var/nix/profiles/system`)
			if strings.Contains(out, "still there") || !strings.HasPrefix(out, "system-") {
				return fmt.Errorf("after destroy: %q, want the desired state gone and the system still there", out)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: runtimeConfig(f, h, "base"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("in_sync"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("current_generation"), positive()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("system"), knownvalue.StringRegexp(regexp.MustCompile(`^/nix/store/[a-z0-9]{32}-nixos-system-base-`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address+":22/base")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: runtimeConfig(f, h, "base", "keep_generations = 3"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName: addr, ImportState: true, ImportStateVerify: true,
				ImportStateId:           h.Address + ":22/base " + h.HostKeys[0],
				ImportStateVerifyIgnore: []string{"host.host_key"},
			},
		},
	})
}
