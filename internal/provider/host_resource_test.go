package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

const hostAddr = "fediversity_host.test"

func hostConfig(f *sandbox.Fleet, address string, port int, hostKey string, providerExtra ...string) string {
	key := "null"
	if hostKey != "" {
		key = fmt.Sprintf("%q", hostKey)
	}
	return acctest.ProviderBlock(f, providerExtra...) + fmt.Sprintf(`
resource "fediversity_host" "test" {
  address  = %q
  port     = %d
  host_key = %s
}
`, address, port, key)
}

func TestAccHost_lifecycle(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	ed25519Key, rsaKey := h.HostKeys[0], h.HostKeys[1]
	before := ""
	if acctest.ExpectedOS() == "sandbox" {
		before = machineSnapshot(t, h)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             checkHostUntouched(t, h, before),
		Steps: []resource.TestStep{
			{
				Config: hostConfig(f, h.Address, h.Port, ed25519Key),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("id"), knownvalue.StringExact(h.Address+":22")),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("nix_version"), knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+`))),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("system"), knownvalue.StringRegexp(regexp.MustCompile(`^[a-z0-9_]+-linux$`))),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("os"), knownvalue.StringExact(acctest.ExpectedOS())),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("not_ready_reasons"), knownvalue.ListExact([]knownvalue.Check{})),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("cpu_count"), positive()),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("memory_bytes"), positive()),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("disk_free_bytes"), positive()),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("minimum_nix_version"), knownvalue.StringExact("2.8")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:            hostAddr,
				ImportState:             true,
				ImportStateId:           h.Address + ":22 " + ed25519Key,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"disk_free_bytes"},
			},
			{
				// Re-pinning to the host's other key is an in-place update that
				// connects again, negotiating only the RSA algorithms.
				Config: hostConfig(f, h.Address, h.Port, rsaKey),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(hostAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("host_key"), knownvalue.StringExact(rsaKey)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
			{
				Config: hostConfig(f, h.Address, h.Port, rsaKey),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// RELIABILITY 2: a host that presents another key than the pinned one is
// refused before authentication, both fingerprints are shown, and the state
// keeps the key that was pinned before.
func TestAccHost_wrongHostKey(t *testing.T) {
	f := acctest.Fleet(t)
	h, other := f.Hosts[0], f.Hosts[1]
	presented, pinned := fingerprint(t, h.HostKeys[0]), fingerprint(t, other.HostKeys[0])
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: hostConfig(f, h.Address, h.Port, h.HostKeys[0])},
			{
				Config:      hostConfig(f, h.Address, h.Port, other.HostKeys[0]),
				ExpectError: regexp.MustCompile(`(?s)Host Key Mismatch.*` + regexp.QuoteMeta(presented) + `.*` + regexp.QuoteMeta(pinned) + `|(?s)Host Key Mismatch.*` + regexp.QuoteMeta(pinned) + `.*` + regexp.QuoteMeta(presented)),
			},
			{
				Config: hostConfig(f, h.Address, h.Port, h.HostKeys[0]),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// RELIABILITY 1: no pinned key and none in known_hosts fails at plan time;
// with the host in known_hosts it applies and imports by address alone.
func TestAccHost_knownHosts(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[1]
	knownHosts := writeKnownHosts(t, h)
	withKnownHosts := fmt.Sprintf("known_hosts_file = %q", knownHosts)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      hostConfig(f, h.Address, h.Port, ""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Host Key Not Pinned`),
			},
			{
				Config: hostConfig(f, h.Address, h.Port, "", withKnownHosts),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("host_key"), knownvalue.Null()),
				},
			},
			{
				Config:                  hostConfig(f, h.Address, h.Port, "", withKnownHosts),
				ResourceName:            hostAddr,
				ImportState:             true,
				ImportStateId:           h.Address,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"disk_free_bytes"},
			},
		},
	})
}

// RELIABILITY 4: a closed port and a port that never speaks SSH both fail
// with an error naming host:port, within the connect timeout.
func TestAccHost_unreachable(t *testing.T) {
	f := acctest.Fleet(t)
	closed, silent := acctest.ClosedPort(t), acctest.SilentListener(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      hostConfig(f, "127.0.0.1", closed, f.Hosts[0].HostKeys[0], `connect_timeout = "3s"`),
				ExpectError: regexp.MustCompile(fmt.Sprintf(`(?s)Host Unreachable.*127\.0\.0\.1:%d`, closed)),
			},
			{
				Config:      hostConfig(f, "127.0.0.1", silent, f.Hosts[0].HostKeys[0], `connect_timeout = "2s"`),
				ExpectError: regexp.MustCompile(fmt.Sprintf(`(?s)Host Unreachable.*127\.0\.0\.1:%d`, silent)),
			},
		},
	})
}

// RELIABILITY 7: a refresh while the host is down keeps the state (with a
// warning); once it is back the plan is empty. Wrong credentials, in
// contrast, fail the refresh at once.
func TestAccHost_rebootKeepsState(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	h := f.Hosts[0]
	proxy := acctest.NewProxy(t, fmt.Sprintf("%s:%d", h.Address, h.Port))
	config := hostConfig(f, "127.0.0.1", proxy.Port(), h.HostKeys[0], `connect_timeout = "3s"`)
	strangerKey := acctest.StrangerKey(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig:    proxy.Refuse,
				RefreshState: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrSet(hostAddr, "nix_version"),
					resource.TestCheckResourceAttr(hostAddr, "ready", "true"),
				),
			},
			{
				PreConfig: proxy.Forward,
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: acctest.ProviderBlockWithKey(strangerKey) + fmt.Sprintf(`
resource "fediversity_host" "test" {
  address  = "127.0.0.1"
  port     = %d
  host_key = %q
}
`, proxy.Port(), h.HostKeys[0]),
				ExpectError: regexp.MustCompile(`SSH Authentication Failed`),
			},
			{Config: config},
		},
	})
}

// RELIABILITY 6: a probe that outlives command_timeout is killed and the
// create fails: nothing is put in state, and a later apply converges.
func TestAccHost_commandTimeout(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	h := f.Hosts[1]
	restore := acctest.SlowNixStore(t, h)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      hostConfig(f, h.Address, h.Port, h.HostKeys[0], `command_timeout = "2s"`),
				ExpectError: regexp.MustCompile(`Remote Command Timed Out`),
			},
			{
				PreConfig: func() {
					acctest.WaitSlowNixStoreGone(t, h)
					restore()
				},
				Config: hostConfig(f, h.Address, h.Port, h.HostKeys[0]),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(hostAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

// RELIABILITY 5: packets silently dropped in the middle of a command fail it
// within the keepalive budget instead of hanging.
func TestAccHost_packetsDropped(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	h := f.Hosts[1]
	proxy := acctest.NewProxy(t, fmt.Sprintf("%s:%d", h.Address, h.Port))
	restore := acctest.SlowNixStore(t, h)
	config := func(extra ...string) string {
		return hostConfig(f, "127.0.0.1", proxy.Port(), h.HostKeys[0], extra...)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					go func() {
						if acctest.WaitSlowNixStoreStarted(t, h) {
							proxy.Stall()
						}
					}()
				},
				Config:      config(`keepalive_interval = "300ms"`, `keepalive_count_max = 2`, `command_timeout = "5m"`),
				ExpectError: regexp.MustCompile(`Connection Lost`),
			},
			{
				PreConfig: func() {
					proxy.Forward()
					restore()
				},
				Config: config(),
			},
		},
	})
}

func positive() knownvalue.Check {
	return knownvalue.Int64Func(func(v int64) error {
		if v <= 0 {
			return fmt.Errorf("want a positive number, got %d", v)
		}
		return nil
	})
}

func fingerprint(t *testing.T, authorizedKey string) string {
	t.Helper()
	key, err := remote.ParseAuthorizedKey(authorizedKey)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(key)
}

func writeKnownHosts(t *testing.T, h sandbox.Host) string {
	t.Helper()
	lines, err := h.KnownHosts()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// machineSnapshot lists what a host resource must never change on a host.
func machineSnapshot(t *testing.T, h sandbox.Host) string {
	t.Helper()
	out, err := h.Exec(context.Background(), "sh", "-c", "ls -la /etc/fediversity; ls -la /nix/var/nix/profiles 2>/dev/null | grep system; true").CombinedOutput()
	if err != nil {
		t.Fatalf("inspecting %s: %v: %s", h.Name, err, out)
	}
	return string(out)
}

// checkHostUntouched is the CheckDestroy of fediversity_host: destroying it
// forgets the host, which still answers and is exactly as it was.
func checkHostUntouched(t *testing.T, h sandbox.Host, before string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if before == "" {
			return nil // a real machine: not inspected from here
		}
		if after := machineSnapshot(t, h); after != before {
			return fmt.Errorf("destroying fediversity_host changed %s:\nbefore:\n%s\nafter:\n%s", h.Name, before, after)
		}
		return nil
	}
}
