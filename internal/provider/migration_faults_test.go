package provider_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// RELIABILITY 24: the migration is killed (the CLI and the provider, with
// SIGKILL) after each phase but the last and in the middle of the copy, and applied
// again each time; it resumes from its journal, and the end result is what
// an uninterrupted migration gives: B serves exactly what A served.
func TestAccMigration_resumesAfterKills(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	p := twoProviders{f: f, a: f.Hosts[0], b: f.Hosts[1], sourceKey: acctest.StrangerKey(t), name: "kilo"}
	cli := newProviderCLI(t)
	old := cli.workspace(t, "old", p.config())
	if expectApply(t, old); t.Failed() {
		t.FailNow()
	}
	authorize(t, p.a, p.sourceKey)
	before := fillWithData(t, p.a, p.name)
	moving := cli.workspace(t, "new", p.targetConfig(p.migration(false)))
	journal := "/var/lib/fediversity/migrations/" + p.name + ".json"
	for _, kill := range []struct {
		when  string
		ready func() <-chan error
	}{
		{"after preflight", func() <-chan error { return contains(t, p.b, journal, `"preflight"`) }},
		{"after the deploy with apps held back", func() <-chan error { return contains(t, p.b, journal, `"deploy-held"`) }},
		{"after the source stopped", func() <-chan error { return contains(t, p.b, journal, `"stop-source"`) }},
		{"in the middle of the copy", func() <-chan error {
			return appears(t, p.b, "/var/lib/nixos-containers/"+p.name+"/var/lib/.mastodon.fediversity-incoming")
		}},
		{"after the copy", func() <-chan error { return contains(t, p.b, journal, `"copy"`) }},
		{"after the verification", func() <-chan error { return contains(t, p.b, journal, `"verify"`) }},
	} {
		out, err := moving.killWhen(kill.ready())
		if errors.Is(err, errEndedEarly) {
			t.Fatalf("killing the migration %s: %v\n%s", kill.when, err, out)
		}
		t.Logf("killed %s", kill.when)
	}
	out := expectApply(t, moving)
	if t.Failed() {
		t.FailNow()
	}
	if !strings.Contains(out, "Apply complete") {
		t.Fatalf("the last apply did not complete:\n%s", out)
	}
	address := containerAddress(t, p.b, p.name)
	if err := before.expectServedBy(t, address, p.name); err != nil {
		t.Error(err)
	}
	if err := expectDataAt(t, p.a, p.name, true); err != nil {
		t.Error(err)
	}
}

// contains reports on the channel once the file at path on the host
// contains text.
func contains(t *testing.T, h sandbox.Host, path, text string) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan error, 1)
	go func() {
		out, err := h.Exec(ctx, "sh", "-c", `until grep -qF -- "$2" "$1" 2>/dev/null; do sleep 0.05; done`, "sh", path, text).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("watching %s on %s for %s: %w\n%s", path, h.Name, text, err, out)
		}
		ready <- err
	}()
	return ready
}

// killWhen starts an apply and, once ready reports, kills the CLI and
// every process it started (the provider among them) with SIGKILL, as a
// crash or an OOM kill would.
func (w *cliWorkspace) killWhen(ready <-chan error) (string, error) {
	out, err := w.applyUntil(ready, func(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	var exit *exec.ExitError
	if errors.As(err, &exit) && !errors.Is(err, errEndedEarly) {
		err = nil // killed, as meant
	}
	time.Sleep(time.Second) // the killed provider's SSH sessions end on the hosts
	return out, err
}

// RELIABILITY 20, 21 and 26: a migration refuses, before the source's apps
// are stopped, when a secret the apps cannot live without is missing at
// the source, and when a target database holds data; and at plan time when
// the source is the target.
func TestAccMigration_refusals(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	p := twoProviders{f: f, a: f.Hosts[0], b: f.Hosts[1], sourceKey: acctest.StrangerKey(t), name: "refu"}
	secret := "/var/lib/nixos-containers/refu/var/lib/fediversity-secrets/refu/mastodon/secret_key_base"
	// An operator of that name on the target, deployed by the new provider,
	// with data in its Mastodon database.
	occupied := p.named(`
resource "fediversity_operator" "b" {
  name          = "NAME"
  runtime       = fediversity_runtime.b.target
  domain        = "NAME.example"
  contact_email = "board@NAME.example"
}

resource "fediversity_application" "b_mastodon" {
  operator = fediversity_operator.b.target
  kind     = "mastodon"
}
`)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: p.config()},
			{
				PreConfig: func() {
					authorize(t, p.a, p.sourceKey)
					if out, err := onHost(t, p.a, `mv "$1" "$1.aside"`, secret); err != nil {
						t.Fatalf("%v: %s", err, out)
					}
				},
				Config:      p.newConfig(p.migration(false)),
				ExpectError: phrase(`secret secret_key_base is missing or empty at the source`),
			},
			{
				PreConfig: func() {
					expectSourceRuns(t, p)
					if out, err := onHost(t, p.a, `mv "$1.aside" "$1"`, secret); err != nil {
						t.Fatalf("%v: %s", err, out)
					}
				},
				Config: p.newConfig(occupied),
			},
			{
				Config:      p.newConfig(occupied, p.migration(false)),
				ExpectError: phrase(`the target runtime already has an operator "refu"`),
			},
			// Destroyed with its data kept: Mastodon's database on B holds data.
			{Config: p.newConfig()},
			{
				PreConfig:   func() { expectSourceRuns(t, p) },
				Config:      p.newConfig(p.migration(false)),
				ExpectError: phrase(`the database is not empty`),
			},
			{
				PreConfig: func() { expectSourceRuns(t, p) },
				Config:    p.newConfig(),
			},
		},
	})
	expectPlanError(t, planOnlyProvider(t)+`
resource "fediversity_migration" "self" {
  operator = "club"
  source   = { host = { address = "192.0.2.1", port = 22, host_key = "`+validKey+`" }, runtime = "web" }
  target   = { name = "web", kind = "host", host = { address = "192.0.2.1", port = 22, host_key = "`+validKey+`" } }
}
`, `(?s)Migration Onto Itself.*source.*is the target`)
}

// A migration of an operator whose applications are all stopped, so that
// its runtime runs no database server, is refused at plan time, saying
// what to do, before anything changes.
func TestAccMigration_sourceDatabaseStopped(t *testing.T) {
	f := acctest.Fleet(t)
	acctest.SandboxOnly(t)
	p := twoProviders{f: f, a: f.Hosts[0], b: f.Hosts[1], sourceKey: acctest.StrangerKey(t), name: "idle"}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{Config: p.configWith("running = false")},
			{
				PreConfig:   func() { authorize(t, p.a, p.sourceKey) },
				Config:      p.newConfig(p.migration(false)),
				ExpectError: phrase(`database server (postgresql.service) does not run`, `set running = true on one of the operator's applications`),
			},
		},
	})
}

// expectSourceRuns checks that the source's apps still answer: a refused
// migration stopped nothing.
func expectSourceRuns(t *testing.T, p twoProviders) {
	t.Helper()
	address := containerAddress(t, p.a, p.name)
	for _, sub := range []string{"social", "matrix", "pixelfed"} {
		if _, err := askAppAt(t, address, sub+"."+p.domain()); err != nil {
			t.Errorf("after a refused migration, the source's %s does not answer: %v", sub, err)
		}
	}
}
