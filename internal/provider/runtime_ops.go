package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/modules"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Where the provider keeps desired state on a host.
const (
	runtimesRoot = "/etc/fediversity/runtimes"
	modulesRoot  = "/etc/fediversity/modules"
)

// runtimeOps is what operators, applications and the runtime itself do to
// a runtime on its host: write their fragment, build and switch, read facts.
type runtimeOps struct {
	data   *providerData
	target runtimeTargetModel
}

func (o runtimeOps) name() string         { return o.target.Name.ValueString() }
func (o runtimeOps) dir() string          { return path.Join(runtimesRoot, o.name()) }
func (o runtimeOps) fragmentsDir() string { return path.Join(o.dir(), "fragments") }
func (o runtimeOps) container() string    { return o.target.Container.ValueString() }

// profile is the Nix profile whose generations are the runtime's systems.
func (o runtimeOps) profile() (nixos.Profile, error) {
	if !o.target.isContainer() {
		return nixos.SystemProfile(), nil
	}
	return nixos.ContainerProfile(o.container())
}

// containersRoot is where nixos-container keeps each container's files on
// its host; the container's /var is the var directory there.
const containersRoot = "/var/lib/nixos-containers"

// hostPath is where a path inside the runtime's system lies on the host.
func (o runtimeOps) hostPath(p string) string {
	if !o.target.isContainer() {
		return p
	}
	return path.Join(containersRoot, o.container(), p)
}

// inRuntime is a command as it runs inside the runtime's system: in the
// container for a container runtime.
func (o runtimeOps) inRuntime(args ...string) []string {
	if !o.target.isContainer() {
		return args
	}
	return append([]string{"nixos-container", "run", o.container(), "--"}, args...)
}

// webAddress is where the runtime's web server answers: the host's address,
// or the container's, from the configuration when known, else as the host
// reports it (a container created by this apply).
func (o runtimeOps) webAddress(ctx context.Context) (string, error) {
	if !o.target.isContainer() {
		return o.target.Host.Address.ValueString(), nil
	}
	if a := o.target.Address; !a.IsUnknown() && a.ValueString() != "" {
		return a.ValueString(), nil
	}
	facts, err := o.facts(ctx)
	if err != nil {
		return "", err
	}
	if facts.Address == "" {
		return "", fmt.Errorf("container %q of runtime %q has no address: is it created? (nixos-container show-ip %s)", o.container(), o.name(), o.container())
	}
	return facts.Address, nil
}

// observed is the runtime's target as a refresh finds it on the host: an
// import knows only the host and the runtime's name.
func (o runtimeOps) observed(facts nixos.RuntimeFacts) runtimeTargetModel {
	t := o.target
	t.Kind, t.Container, t.Address = types.StringValue(runtimeKindHost), types.StringNull(), t.Host.Address
	if facts.Container != "" {
		t.Kind, t.Container, t.Address = types.StringValue(runtimeKindContainer), types.StringValue(facts.Container), types.StringValue(facts.Address)
	}
	return t
}

func (o runtimeOps) client(ctx context.Context) (*remote.Client, error) {
	return o.data.client(ctx, o.target.Host)
}

// writeFragment puts one resource's desired state on the host as JSON,
// readable by root only, replaced atomically.
func (o runtimeOps) writeFragment(ctx context.Context, name string, v any) error {
	content, err := fragmentJSON(v)
	if err != nil {
		return err
	}
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	if _, err := c.Output(ctx, "mkdir", "-p", "-m", "0700", o.fragmentsDir()); err != nil {
		return err
	}
	o.data.facts.forget(o.key())
	return c.Upload(ctx, remote.File{Path: path.Join(o.fragmentsDir(), name), Owner: "root", Group: "root", Mode: 0o600, Content: bytes.NewReader(content)})
}

// fragmentJSON is the one encoding of fragments: the same desired state
// always gives the same bytes, hence the same digest and no rebuild.
func fragmentJSON(v any) ([]byte, error) {
	return json.Marshal(v)
}

// deployFragment writes a resource's fragment and deploys the runtime. If
// anything fails, even an interrupt (SIGINT) in the middle, the fragment is
// put back as the running system has it (or removed when the system has
// none), so that the desired state on the host never runs ahead of what is
// live: a later deploy for another resource must not bring the failed
// change live without its own gate. tracked runs before anything touches
// the host, to put a created resource in state so a failure taints it.
func (o runtimeOps) deployFragment(ctx context.Context, name string, v any, timeout time.Duration, settings *runtimeFragmentModel, repair bool, tracked func()) (nixos.Result, error) {
	tracked()
	var result nixos.Result
	err := o.writeFragment(ctx, name, v)
	if err == nil {
		result, err = o.deploy(ctx, timeout, settings, repair)
	}
	if err != nil {
		if restoreErr := o.restoreFragment(ctx, name); restoreErr != nil {
			err = errors.Join(err, fmt.Errorf("putting %s back as the running system has it also failed: %w", name, restoreErr))
		}
	}
	return result, err
}

// trackCreated is what deployFragment runs before touching the host: a
// created resource goes into state, so that a failure taints it; an update
// keeps the prior state on failure, as that is what still runs.
func trackCreated(ctx context.Context, create bool, state *tfsdk.State, m any, diags *diag.Diagnostics) func() {
	return func() {
		if create {
			diags.Append(state.Set(ctx, m)...)
		}
	}
}

// restoreTimeout bounds the clean-up after a failed or interrupted deploy,
// which must run even when the request was cancelled; it waits for a build
// or switch that the deploy may already have started on the host.
const restoreTimeout = 10 * time.Minute

// restoreFragment makes a fragment on disk what the running system was
// built from, holding the profile's lock so that it follows any switch the
// failed deploy had already started.
func (o runtimeOps) restoreFragment(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	defer o.data.facts.forget(o.key())
	profile, err := o.profile()
	if err != nil {
		return err
	}
	_, err = c.Output(ctx, "sh", "-c", restoreFragmentScript, "sh", name, o.fragmentsDir(), profile.Path, profile.Lock)
	return err
}

// restoreFragmentScript: arguments name fragments_dir profile lock.
const restoreFragmentScript = `
set -eu
name=$1 fragments=$2 profile=$3 lock=$4
mkdir -p "$(dirname "$lock")"
exec 9>>"$lock"
flock 9
running="$(readlink -e "$profile" || true)/etc/fediversity/fragments/$name"
if [ -e "$running" ]; then
  tmp=$(mktemp "$fragments/.restore.XXXXXX")
  cat "$running" >"$tmp"
  mv -f "$tmp" "$fragments/$name"
else
  rm -f "$fragments/$name"
fi
`

// markKind records on the host whether the runtime is a container, and
// which, so that a refresh (or an import, which knows only the runtime's
// name) reads the right profile.
func (o runtimeOps) markKind(ctx context.Context) error {
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	o.data.facts.forget(o.key())
	_, err = c.Output(ctx, "sh", "-c", markKindScript, "sh", o.dir(), nixos.ContainerMarker(o.dir()), o.container())
	return err
}

// markKindScript: arguments runtime_dir marker container (empty: none).
const markKindScript = `
set -eu
mkdir -p -m 0700 "$1"
if [ -n "$3" ]; then printf '%s\n' "$3" >"$2"; else rm -f "$2"; fi
`

// forget removes the runtime's desired state from the host and stops its
// container, whose files stay.
func (o runtimeOps) forget(ctx context.Context) error {
	if err := o.removeFragment(ctx, runtimeFragment); err != nil {
		return err
	}
	if !o.target.isContainer() {
		return nil
	}
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	_, err = c.Output(ctx, "sh", "-c", `[ ! -e "/etc/nixos-containers/$1.conf" ] || nixos-container stop "$1"`, "sh", o.container())
	return err
}

// removeFragment deletes a fragment; a missing one is fine.
func (o runtimeOps) removeFragment(ctx context.Context, name string) error {
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	o.data.facts.forget(o.key())
	_, err = c.Output(ctx, "rm", "-f", "--", path.Join(o.fragmentsDir(), name))
	return err
}

// deploy builds the runtime's system from its fragments on the host and
// switches to it, unless the running system already includes them, gating
// on the health of every application the new system runs: whichever
// deploy brings a change live answers for it. Deploys of operators and
// applications that one apply makes together are coalesced into one
// (deployBatches); concurrent deploys from elsewhere are serialised by the
// host. How to build comes from settings, or when nil (an operator or an
// application deploying) from the runtime.json on the host. With repair, a
// runtime whose system is up to date is switched to again, restarting
// services stopped behind its back.
func (o runtimeOps) deploy(ctx context.Context, timeout time.Duration, settings *runtimeFragmentModel, repair bool) (nixos.Result, error) {
	if settings != nil {
		release, err := o.admitBuild(ctx)
		if err != nil {
			return nixos.Result{}, err
		}
		defer release()
		return o.activate(ctx, timeout, settings, repair)
	}
	return o.data.deploys.deploy(ctx, o.key(), repair, o.admitBuild, func(ctx context.Context, repair bool) (nixos.Result, error) {
		return o.activate(ctx, timeout, nil, repair)
	})
}

// admitBuild waits for one of the host's build slots (max_builds_per_host).
func (o runtimeOps) admitBuild(ctx context.Context) (release func(), err error) {
	return o.data.builds.acquire(ctx, o.target.Host.factsKey())
}

// activate builds and switches once; see deploy.
func (o runtimeOps) activate(ctx context.Context, timeout time.Duration, settings *runtimeFragmentModel, repair bool) (nixos.Result, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nixos.Result{}, err
	}
	if settings == nil {
		if settings, err = o.settings(ctx); err != nil {
			return nixos.Result{}, err
		}
	}
	profile, err := o.profile()
	if err != nil {
		return nixos.Result{}, err
	}
	sw := nixos.Switch{
		Profile: profile,
		Keep:    int(settings.KeepGenerations),
		Timeout: timeout,
		Health:  o.systemHealth,
	}
	defer o.data.facts.forget(o.key())
	var result nixos.Result
	if settings.BuildLocation == buildLocal {
		result, err = o.activateLocally(ctx, c, sw, settings.Nixpkgs, repair)
	} else {
		result, err = o.activateOnHost(ctx, c, sw, settings.Nixpkgs, repair)
	}
	tflog.Info(ctx, "runtime deployed", map[string]any{"runtime": o.name(), "changed": result.Changed, "system": result.System})
	return result, err
}

// activateOnHost builds the system on the host, under the profile's lock.
func (o runtimeOps) activateOnHost(ctx context.Context, c *remote.Client, sw nixos.Switch, nixpkgs string, repair bool) (nixos.Result, error) {
	moduleDir, err := modules.Install(ctx, c, modulesRoot)
	if err != nil {
		return nixos.Result{}, err
	}
	sw.Build = &nixos.Build{
		Entry:     path.Join(moduleDir, modules.Entry),
		Fragments: o.fragmentsDir(),
		Nixpkgs:   nixpkgs,
		OutLink:   o.outLink(),
		Repair:    repair,
	}
	return nixos.Activate(ctx, o.connect, sw)
}

// outLink keeps the runtime's newest build alive on the host until a
// profile generation holds it.
func (o runtimeOps) outLink() string { return path.Join(o.dir(), "result") }

func (o runtimeOps) connect(ctx context.Context) (nixos.Remote, error) { return o.client(ctx) }

// settings reads how the runtime builds from its runtime.json on the host.
func (o runtimeOps) settings(ctx context.Context) (*runtimeFragmentModel, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nil, err
	}
	content, err := c.Output(ctx, "cat", path.Join(o.fragmentsDir(), runtimeFragment))
	if err != nil {
		return nil, fmt.Errorf("runtime %q has no desired state on its host (create the fediversity_runtime first): %w", o.name(), err)
	}
	var f runtimeFragmentModel
	if err := json.Unmarshal(content, &f); err != nil {
		return nil, fmt.Errorf("runtime.json of runtime %q: %w", o.name(), err)
	}
	return &f, nil
}

// facts reads the runtime's facts once per refresh, or takes them from
// its host's read of all its runtimes.
func (o runtimeOps) facts(ctx context.Context) (nixos.RuntimeFacts, error) {
	return o.data.facts.get(ctx, o.target.Host.factsKey(), o.key(), func(ctx context.Context) (nixos.RuntimeFacts, error) {
		c, err := o.client(ctx)
		if err != nil {
			return nixos.RuntimeFacts{}, err
		}
		return nixos.ReadRuntime(ctx, c, o.dir(), o.fragmentsDir())
	})
}

func (o runtimeOps) key() string {
	return o.target.Host.factsKey() + "/" + o.name()
}

// deployDiagnostic explains a failed deploy: what failed, on which runtime
// and host, and why; a connection problem keeps its own summary (Host Key
// Mismatch, Host Unreachable, ...).
func (o runtimeOps) deployDiagnostic(summary, what string, err error) diag.Diagnostic {
	if known, _ := classify(err); known != "Host Operation Failed" && known != "Remote Command Failed" {
		summary = known
	}
	return diag.NewErrorDiagnostic(summary, fmt.Sprintf("%s on runtime %q of host %s failed:\n%v",
		what, o.name(), o.target.Host.Address.ValueString(), strings.TrimSpace(err.Error())))
}
