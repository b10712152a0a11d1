package provider_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
)

const validKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq"

// RELIABILITY 26 and 27 at plan time: bad input is refused with the
// attribute named, before any connection (there is no host at these
// addresses), and unknown values are tolerated.
func TestHostPlanTimeValidation(t *testing.T) {
	pwned := filepath.Join(t.TempDir(), "pwned")
	cases := map[string]struct {
		config string
		want   string
	}{
		"port out of range": {`address = "192.0.2.1"
  port = 70000
  host_key = "` + validKey + `"`, `(?s)port.*between 1 and 65535`},
		"malformed host key": {`address = "192.0.2.1"
  host_key = "ssh-ed25519 AAAA-not-base64"`, `(?s)Invalid Host Key.*host_key`},
		"address with command substitution": {`address = "$(touch ` + pwned + `)"
  host_key = "` + validKey + `"`, `(?s)Invalid Host Address.*address`},
		"address with a newline": {`address = "web1\nreboot"
  host_key = "` + validKey + `"`, `(?s)Invalid Host Address.*address`},
		"address with template": {`address = "$${path.module}"
  host_key = "` + validKey + `"`, `(?s)Invalid Host Address.*address`},
		"user with quotes": {`address = "192.0.2.1"
  user = "root\" -o ProxyCommand=\"reboot"
  host_key = "` + validKey + `"`, `(?s)Invalid SSH User.*user`},
		"old nix version": {`address = "192.0.2.1"
  minimum_nix_version = "newest"
  host_key = "` + validKey + `"`, `(?s)Invalid Version.*minimum_nix_version`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			expectPlanError(t, planOnlyProvider(t)+"resource \"fediversity_host\" \"bad\" {\n  "+c.config+"\n}\n", c.want)
		})
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("a hostile address reached a shell")
	}
}

func TestProviderPlanTimeValidation(t *testing.T) {
	cases := map[string]struct{ settings, want string }{
		"duration":            {`connect_timeout = "soon"`, `(?s)Invalid Duration.*connect_timeout`},
		"private key garbage": {`private_key = "not a key"`, `(?s)Invalid SSH Private Key.*private_key`},
		"two keys": {`private_key = "not a key"
  private_key_file = "/dev/null"`, `(?s)private_key`},
		"sessions": {`max_sessions_per_host = 0`, `(?s)max_sessions_per_host.*between 1 and 64`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			expectPlanError(t, "provider \"fediversity\" {\n  "+c.settings+"\n}\n"+
				"resource \"fediversity_host\" \"h\" {\n  address = \"192.0.2.1\"\n  host_key = \""+validKey+"\"\n}\n", c.want)
		})
	}
}

// Values unknown at plan time pass validation and the plan proceeds.
func TestHostUnknownValuesAtPlan(t *testing.T) {
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.CLIPreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config: planOnlyProvider(t) + `
resource "terraform_data" "later" {
  input = "192.0.2.1"
}
resource "fediversity_host" "h" {
  address  = terraform_data.later.output
  host_key = "` + validKey + `"
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}

// expectPlanError plans config and expects an error matching want.
func expectPlanError(t *testing.T, config, want string) {
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.CLIPreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      config,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(want),
		}},
	})
}

// planOnlyProvider authenticates with a key that no host authorises: none
// of these plans may connect anywhere.
func planOnlyProvider(t *testing.T) string {
	return acctest.ProviderBlockWithKey(acctest.StrangerKey(t))
}
