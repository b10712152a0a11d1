package systemctl

import (
	"context"
	"fmt"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/containers"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

func start(ctx context.Context, u unit, out outputs) int {
	var err error
	if u.container != "" {
		err = containers.Start(ctx, u.container, out.stderr)
	} else {
		client, paths := hostClient()
		err = supervisor.StartUnit(ctx, client, paths, u.name, false)
	}
	if err != nil {
		return failed(out, "start", u, err)
	}
	return exitOK
}

func stop(ctx context.Context, u unit, out outputs) int {
	var err error
	if u.container != "" {
		err = containers.Stop(ctx, u.container)
	} else {
		client, _ := hostClient()
		err = client.Stop(ctx, u.name, false)
	}
	if err != nil {
		return failed(out, "stop", u, err)
	}
	return exitOK
}

func restart(ctx context.Context, u unit, out outputs) int {
	if u.container == "" {
		client, paths := hostClient()
		if err := supervisor.StartUnit(ctx, client, paths, u.name, true); err != nil {
			return failed(out, "restart", u, err)
		}
		return exitOK
	}
	if code := stop(ctx, u, out); code != exitOK {
		return code
	}
	return start(ctx, u, out)
}

// reload exists for containers only, as NixOS's container@.service has
// ExecReload; the stand-in's host units have none.
func reload(_ context.Context, u unit, out outputs) int {
	if u.container == "" {
		return failed(out, "reload", u, errReloadNotApplicable{u})
	}
	up, err := containers.Running(u.container)
	if err == nil && !up {
		err = fmt.Errorf("%s is not active, cannot reload", u)
	}
	if err != nil {
		return failed(out, "reload", u, err)
	}
	code, err := containers.Reload(u.container, out.stdout, out.stderr)
	if err != nil {
		return failed(out, "reload", u, err)
	}
	return code
}

func isActive(ctx context.Context, u unit, out outputs) int {
	state := unitState(ctx, u)
	if !out.quiet {
		fmt.Fprintln(out.stdout, state)
	}
	if state != supervisor.StateActive {
		return exitInactive
	}
	return exitOK
}

// unitState is the unit's state as systemd names it; a unit nobody knows
// is inactive.
func unitState(ctx context.Context, u unit) string {
	if u.container != "" {
		if up, _ := containers.Running(u.container); up {
			return supervisor.StateActive
		}
		return supervisor.StateInactive
	}
	client, _ := hostClient()
	units, _ := client.Status(ctx)
	for _, s := range units {
		if s.Name == u.name {
			return s.State
		}
	}
	return supervisor.StateInactive
}

// errReloadNotApplicable says what systemctl says, capitalised as it does.
type errReloadNotApplicable struct{ u unit }

func (e errReloadNotApplicable) Error() string {
	return "Job type reload is not applicable for unit " + e.u.String()
}
