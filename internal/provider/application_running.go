package provider

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
)

// An application with running = false is declared but not started: its
// fragment lists its service in `stopped`, which the runtime's system
// keeps from starting (held-back.nix); a runtime none of whose
// applications runs starts no shared service either (runtime.nix).

// healthStopped is the health of an application declared but not started:
// it is not asked, and a refresh that finds it so plans no repair.
const healthStopped = "stopped"

// sharedServices are what a runtime runs for its applications
// (runtime.nix holds them back when none runs), in the order they stop.
var sharedServices = []string{"nginx", "maddy", "postgresql-setup", "postgresql"}

// running says whether the configuration asks for the application to run.
func (f applicationFragmentModel) running() bool {
	return len(f.Stopped) == 0
}

// stoppedUnits are the units kept stopped: none while it runs.
func (m applicationModel) stoppedUnits() []string {
	if m.Running.ValueBool() {
		return nil
	}
	app, _ := catalogue.Lookup(m.Kind.ValueString())
	return []string{app.Service}
}

// observedHealth asks a running application once; a stopped one is not
// asked.
func observedHealth(ctx context.Context, ops runtimeOps, m applicationModel) string {
	if !m.Running.ValueBool() {
		return healthStopped
	}
	if err := ops.appHealth(ctx, m.deployed(), 0); err != nil {
		return err.Error()
	}
	return "ok"
}

// runsNoApplication says whether a system has applications and runs none
// of them, as runtime.nix decides it: one a migration holds back counts as
// running, since the migration fills in its database meanwhile.
func runsNoApplication(fragments map[string][]byte) bool {
	apps := 0
	for name, content := range fragments {
		if !strings.HasPrefix(name, "application-") {
			continue
		}
		apps++
		var app applicationFragmentModel
		if json.Unmarshal(content, &app) != nil || app.running() || len(app.HeldBack) > 0 {
			return false
		}
	}
	return apps > 0
}

// stopApplication stops a stopped application's units once its fragment
// is deployed, and the runtime's shared services when the system now
// running runs no application. A switch does not do it: like NixOS's, it
// leaves a unit running when nothing wants it any more (and restarts one
// that changed).
func stopApplication(ctx context.Context, ops runtimeOps, m applicationModel, system string) error {
	c, fragments, err := ops.systemFragments(ctx, system)
	if err != nil {
		return err
	}
	var shared []string
	if runsNoApplication(fragments) {
		shared = sharedServices
	}
	profile, err := ops.profile()
	if err != nil {
		return err
	}
	args := append([]string{"sh", "-c", stopScript, "sh", profile.Lock, profile.Path, system, profile.Container}, m.stoppedUnits()...)
	_, err = c.Output(ctx, append(append(args, "--"), shared...)...)
	return err
}

// stopScript runs on the host under the runtime's lock, so that no switch
// runs meanwhile. Arguments: lock profile system container UNIT... --
// SHARED...: the units are stopped; the shared services only when the
// profile still runs system (a later switch's system may run applications
// again). A unit that is not running is fine, whether the init system
// knows it as stopped or not at all.
const stopScript = `
set -u
lock=$1 profile=$2 system=$3 container=$4
shift 4
in_runtime() { if [ -n "$container" ]; then nixos-container run "$container" -- "$@"; else "$@"; fi; }
stop_unit() {
  in_runtime systemctl stop "$1" 2>/dev/null || ! in_runtime systemctl is-active -q "$1" || { echo "$1 is still active" >&2; exit 1; }
}
mkdir -p "$(dirname "$lock")"
exec 9>>"$lock"
flock -w 600 9 || { echo "another build or switch of the runtime held its lock for 10 minutes" >&2; exit 1; }
while [ "$1" != -- ]; do stop_unit "$1"; shift; done
shift
[ "$(readlink -f "$profile")" = "$system" ] || exit 0
for unit; do stop_unit "$unit"; done
`
