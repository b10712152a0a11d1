package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

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

func (o runtimeOps) name() string           { return o.target.Name.ValueString() }
func (o runtimeOps) dir() string            { return path.Join(runtimesRoot, o.name()) }
func (o runtimeOps) fragmentsDir() string   { return path.Join(o.dir(), "fragments") }
func (o runtimeOps) profile() nixos.Profile { return nixos.SystemProfile() }

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

// fragmentJSON is the one encoding of fragments, so that what the provider
// would write can be compared byte for byte with what a host holds.
func fragmentJSON(v any) ([]byte, error) {
	return json.Marshal(v)
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
// on health. Concurrent deploys of one runtime are serialised by the host.
// How to build comes from settings, or when nil (an operator or an
// application deploying) from the runtime.json on the host.
func (o runtimeOps) deploy(ctx context.Context, timeout time.Duration, settings *runtimeFragmentModel, health func(context.Context, *remote.Client) error) (nixos.Result, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nixos.Result{}, err
	}
	if settings == nil {
		if settings, err = o.settings(ctx); err != nil {
			return nixos.Result{}, err
		}
	}
	moduleDir, err := modules.Install(ctx, c, modulesRoot)
	if err != nil {
		return nixos.Result{}, err
	}
	sw := nixos.Switch{
		Profile: o.profile(),
		Build: &nixos.Build{
			Entry:     path.Join(moduleDir, modules.Entry),
			Fragments: o.fragmentsDir(),
			Nixpkgs:   settings.Nixpkgs,
			OutLink:   path.Join(o.dir(), "result"),
		},
		Keep:    int(settings.KeepGenerations),
		Timeout: timeout,
	}
	if health != nil {
		sw.Health = func(ctx context.Context) error {
			c, err := o.client(ctx)
			if err != nil {
				return err
			}
			return health(ctx, c)
		}
	}
	connect := func(ctx context.Context) (nixos.Remote, error) { return o.client(ctx) }
	defer o.data.facts.forget(o.key())
	result, err := nixos.Activate(ctx, connect, sw)
	tflog.Info(ctx, "runtime deployed", map[string]any{"runtime": o.name(), "changed": result.Changed, "system": result.System})
	return result, err
}

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

// facts reads the runtime's facts once per refresh.
func (o runtimeOps) facts(ctx context.Context) (nixos.RuntimeFacts, error) {
	return o.data.facts.get(ctx, o.key(), func(ctx context.Context) (nixos.RuntimeFacts, error) {
		c, err := o.client(ctx)
		if err != nil {
			return nixos.RuntimeFacts{}, err
		}
		return nixos.ReadRuntime(ctx, c, o.profile(), o.fragmentsDir())
	})
}

func (o runtimeOps) key() string {
	return fmt.Sprintf("%s:%d/%s", o.target.Host.Address.ValueString(), o.target.Host.port(), o.name())
}

// deployDetail explains a failed deploy for a diagnostic.
func (o runtimeOps) deployDetail(what string, err error) string {
	return fmt.Sprintf("%s on runtime %q of host %s failed:\n%v", what, o.name(), o.target.Host.Address.ValueString(), strings.TrimSpace(err.Error()))
}
