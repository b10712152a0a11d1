// Package systemctl is the stand-in's systemctl (the `systemctl` role of
// fediversity-standin): sandbox hosts have no systemd, so it knows the
// verbs the provider uses, for the host's units, which the stand-in
// supervisor runs, and for its NixOS containers (container@NAME).
package systemctl

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

const usage = `usage: systemctl [-q|--quiet] VERB UNIT...

The sandbox's systemctl knows these verbs:
  start UNIT...      start units of the current system, or container@NAME
  stop UNIT...       stop units, or container@NAME
  restart UNIT...    restart units, or container@NAME
  reload container@NAME
                     switch the container to its profile's current system
                     (exit status that of switch-to-configuration: 4 when
                     units failed)
  is-active UNIT...  print each unit's state; exit 0 when all are active
`

// Exit statuses, as systemctl's.
const (
	exitOK       = 0
	exitFailure  = 1
	exitInactive = 3 // is-active: some unit is not active
)

// verbs: what each does to one unit; the exit status of the last failing
// unit is systemctl's.
var verbs = map[string]func(ctx context.Context, u unit, out outputs) int{
	"start":     start,
	"stop":      stop,
	"restart":   restart,
	"reload":    reload,
	"is-active": isActive,
}

type outputs struct {
	stdout, stderr io.Writer
	quiet          bool
}

// Main is the `systemctl` role of fediversity-standin.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := outputs{stdout: stdout, stderr: stderr}
	var words []string
	for _, a := range args {
		switch a {
		case "-q", "--quiet":
			out.quiet = true
		case "-h", "--help":
			fmt.Fprint(stdout, usage)
			return exitOK
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		fmt.Fprint(stderr, usage)
		return exitFailure
	}
	verb, ok := verbs[words[0]]
	if !ok {
		fmt.Fprintf(stderr, "Unknown command verb '%s': the sandbox's systemctl knows only start, stop, restart, reload and is-active.\n", words[0])
		return exitFailure
	}
	if len(words) == 1 {
		fmt.Fprintf(stderr, "Too few arguments: %s needs a unit.\n", words[0])
		return exitFailure
	}
	code := exitOK
	for _, name := range words[1:] {
		if c := verb(ctx, parseUnit(name), out); c != exitOK {
			code = c
		}
	}
	return code
}

// unit is a unit name as given: NAME, NAME.service or container@NAME.
type unit struct {
	name      string // without .service
	container string // NAME of container@NAME, else empty
}

func parseUnit(s string) unit {
	name := strings.TrimSuffix(s, ".service")
	container, _ := strings.CutPrefix(name, "container@")
	if container == name {
		container = ""
	}
	return unit{name: name, container: container}
}

func (u unit) String() string { return u.name + ".service" }

// failed reports a failed job as systemctl does.
func failed(out outputs, verb string, u unit, err error) int {
	fmt.Fprintf(out.stderr, "Failed to %s %s: %v\n", verb, u, err)
	return exitFailure
}

func hostClient() (supervisor.Client, supervisor.Paths) {
	paths := supervisor.DefaultPaths()
	return supervisor.NewClient(paths), paths
}
