package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// phrase matches the given phrases in order, whatever the CLI's line
// wrapping did to the spaces between their words.
func phrase(phrases ...string) *regexp.Regexp {
	parts := make([]string, len(phrases))
	for i, p := range phrases {
		parts[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}

// hostChange makes a change on a host behind the provider's back.
func hostChange(t *testing.T, h sandbox.Host, script string) func() {
	return func() {
		if out, err := onHost(t, h, script); err != nil {
			t.Fatalf("changing %s by hand: %v\n%s", h.Name, err, out)
		}
	}
}

// RELIABILITY 15: changes made on the host by hand show as a plan that
// repairs them: a fragment deleted, a generation switched, a service stopped.
func TestAccDeploy_driftIsRepaired(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	h := f.Hosts[1]
	config := deployment(f, h, application("mastodon"))
	healthy := checkApp(t, h, "social.club.example", "mastodon", "4.4.4")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, Check: healthy},
			{
				PreConfig: hostChange(t, h, `rm /etc/fediversity/runtimes/web/fragments/application-club-mastodon.json`),
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("fediversity_application.mastodon", plancheck.ResourceActionCreate)},
				},
				Check: healthy,
			},
			{
				// Back to the generation before Mastodon was added.
				PreConfig: hostChange(t, h, `p=/nix/var/nix/profiles/system; nix-env -p $p --rollback && $p/bin/switch-to-configuration switch`),
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("fediversity_runtime.rt", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("fediversity_application.mastodon", plancheck.ResourceActionCreate),
					},
				},
				Check: healthy,
			},
			{
				PreConfig: hostChange(t, h, `/etc/fediversity-sandbox/bin/fediversity-standin supervise stop mastodon-web`),
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("fediversity_application.mastodon", plancheck.ResourceActionUpdate)},
				},
				Check: healthy,
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// RELIABILITY 9 and 10: a release that fails to start, or starts but fails
// its health check, rolls the runtime back and fails the apply saying so;
// the version that ran before answers again.
func TestAccDeploy_failedReleaseRollsBack(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	h := f.Hosts[1]
	good := checkApp(t, h, "social.club.example", "mastodon", "4.4.4")
	faults := func(lines string) func() {
		return hostChange(t, h, `mkdir -p /etc/fediversity-sandbox && printf '%s\n' '`+lines+`' >/etc/fediversity-sandbox/faults`)
	}
	older := application("mastodon", `version = "4.3.13"`)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: deployment(f, h, application("mastodon")), Check: good},
			{
				PreConfig:   faults("refuse-start mastodon 4.3.13"),
				Config:      deployment(f, h, older),
				ExpectError: phrase("Application Deployment Failed", "exit status 4", "rolled back to /nix/store/", "mastodon 4.3.13 refuses to start"),
			},
			{
				PreConfig:   faults("unhealthy mastodon 4.3.13"),
				Config:      deployment(f, h, older),
				ExpectError: phrase("health check failed: Mastodon at social.club.example: social.club.example/health answered 503", "rolled back to /nix/store/"),
			},
			{
				PreConfig: faults(""),
				Config:    deployment(f, h, application("mastodon")),
				Check: func(s *terraform.State) error {
					if err := good(s); err != nil {
						return fmt.Errorf("after the rollbacks: %w", err)
					}
					return nil
				},
			},
		},
	})
}
