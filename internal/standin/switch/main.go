// Package activate is the stand-in's switch-to-configuration: the `switch`
// role of fediversity-standin, which a system's bin/switch-to-configuration
// runs as `fediversity-standin switch --toplevel <system> ACTION`.
//
// As NixOS's: it takes /run/nixos/switch-to-configuration.lock, stops the
// units that left or changed, runs the system's activate script, points
// /run/current-system at the system, starts new and changed units under
// the supervisor, waits for them to come up, and exits 4 naming the units
// that failed.
package activate

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// Exit statuses, as NixOS's switch-to-configuration gives them.
const (
	exitOK               = 0
	exitError            = 1 // bad usage, unreadable system, no supervisor
	exitActivationFailed = 2 // the activate script failed
	exitUnitsFailed      = 4 // some units failed
)

// settleTime is how long a started simple unit must stay up to count as
// started: one that exits sooner has failed.
const settleTime = 2 * time.Second

const usage = `usage: fediversity-standin switch --toplevel SYSTEM [--root DIR] ACTION

ACTION is one of:
  switch        make SYSTEM the running system (test + boot)
  test          make SYSTEM the running system
  boot          nothing: a sandbox host has no boot loader
  dry-activate  print which units a switch would stop, start and restart
`

// Main is the `switch` role of fediversity-standin.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("switch", flag.ContinueOnError)
	flags.SetOutput(stderr)
	toplevel := flags.String("toplevel", "", "the system (a nixos-system-* store path)")
	root := flags.String("root", supervisor.DefaultPaths().Root, "place /run and /var under this directory")
	if err := flags.Parse(args); err != nil || *toplevel == "" || flags.NArg() != 1 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	// A dropped SSH session must not cut a switch short.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	s := &switcher{
		toplevel: *toplevel,
		paths:    supervisor.Paths{Root: *root},
		stdout:   stdout,
		stderr:   stderr,
		settle:   settleTime,
	}
	return s.run(ctx, flags.Arg(0))
}
