package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/modules"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Where a runtime is built: on its host (the default), or on the machine
// running OpenTofu, which then streams only the store paths the host lacks.
const (
	buildOnTarget = "target"
	buildLocal    = "local"
)

// staleRetries bounds the local rebuilds when other deploys keep changing
// the runtime's desired state while this one builds.
const staleRetries = 3

// activateLocally builds the runtime's system here from the fragments on
// the host, copies what the host lacks of it, and switches; nothing is
// built when the running system is up to date. The switch, under the
// profile's lock, refuses a system whose fragments changed meanwhile, and
// the build is done again.
func (o runtimeOps) activateLocally(ctx context.Context, c *remote.Client, sw nixos.Switch, nixpkgs string, repair bool) (nixos.Result, error) {
	for attempt := 1; ; attempt++ {
		o.data.facts.forget(o.key())
		facts, err := o.facts(ctx)
		if err != nil {
			return nixos.Result{}, err
		}
		if facts.InSync() && !repair {
			return nixos.Result{System: facts.System}, nil
		}
		sw.Toplevel, err = o.buildHere(ctx, c, nixpkgs)
		if err != nil {
			return nixos.Result{}, err
		}
		sw.BuiltFrom, sw.Repair = o.fragmentsDir(), repair
		result, err := nixos.Activate(ctx, o.connect, sw)
		if !errors.Is(err, nixos.ErrStale) || attempt == staleRetries {
			return result, err
		}
		tflog.Info(ctx, "the desired state changed during the local build; building again", map[string]any{"runtime": o.name()})
	}
}

// buildHere builds the system from a copy of the host's fragments and puts
// its closure on the host, returning its store path.
func (o runtimeOps) buildHere(ctx context.Context, c *remote.Client, nixpkgs string) (string, error) {
	work, err := os.MkdirTemp("", "fediversity-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	fragments := filepath.Join(work, "fragments")
	if err := o.fetchFragments(ctx, c, fragments); err != nil {
		return "", err
	}
	moduleDir, err := modules.Install(ctx, localRunner{}, localModulesRoot())
	if err != nil {
		return "", err
	}
	toplevel, err := nixos.BuildLocally(ctx, nixos.Build{
		Entry: filepath.Join(moduleDir, modules.Entry), Fragments: fragments, Nixpkgs: nixpkgs, OutLink: filepath.Join(work, "result"),
	})
	if err != nil {
		return "", err
	}
	stats, err := nixos.CopyClosure(ctx, c, toplevel, o.outLink())
	tflog.Info(ctx, "system copied to the host", map[string]any{"runtime": o.name(), "closure": stats.Closure, "missing": stats.Missing, "bytes": stats.Bytes})
	return toplevel, err
}

// fetchFragments copies the runtime's fragments from the host into dir.
func (o runtimeOps) fetchFragments(ctx context.Context, c *remote.Client, dir string) error {
	var archive bytes.Buffer
	if err := c.Run(ctx, remote.Cmd{Args: []string{"tar", "-C", o.fragmentsDir(), "-cf", "-", "."}, Stdout: &archive}); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return localRunner{}.Run(ctx, remote.Cmd{Args: []string{"tar", "-x", "-C", dir}, Stdin: &archive})
}

// localModulesRoot is where this machine keeps the provider's modules for
// local builds, one directory per version of them, as hosts do.
func localModulesRoot() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "terraform-provider-fediversity", "modules")
}

// localRunner runs a command on this machine the way a remote.Client runs
// one on a host, so that the same installers serve both.
type localRunner struct{}

func (localRunner) Run(ctx context.Context, cmd remote.Cmd) error {
	c := exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
	var stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, &stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s on this machine: %w\n%s", cmd.Args[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
