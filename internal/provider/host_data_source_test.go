package provider_test

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
)

func TestAccHostDataSource(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[1]
	const addr = "data.fediversity_host.test"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderBlock(f) + fmt.Sprintf(`
data "fediversity_host" "test" {
  address             = %q
  host_key            = %q
  minimum_nix_version = "99.0"
}
`, h.Address, h.HostKeys[1]),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address+":22")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("os"), knownvalue.StringExact(acctest.ExpectedOS())),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("cpu_count"), positive()),
					// A data source reports readiness instead of failing on it.
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ready"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("not_ready_reasons"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringRegexp(regexp.MustCompile(`^Nix \S+ is older than the minimum 99\.0\.0$`)),
					})),
				},
			},
			{
				Config: acctest.ProviderBlock(f) + fmt.Sprintf(`
data "fediversity_host" "test" {
  address  = %q
  host_key = %q
}
`, h.Address, f.Hosts[0].HostKeys[0]),
				ExpectError: regexp.MustCompile(`Host Key Mismatch`),
			},
		},
	})
}
