package supervisor

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"
)

const usage = `usage: fediversity-standin supervise COMMAND [--root DIR] [ARGS]

Commands:
  run             run the supervisor of this system (switch-to-configuration
                  starts it, detached, when none runs)
  status [--json] print every unit: state, pid, since, restarts, last exit
  start UNIT      start a unit of the current system (/run/current-system)
  stop UNIT       stop a unit
  restart UNIT    restart a unit with the current system's definition
  shutdown        stop every unit and end the supervisor

--root DIR places /run and /var under DIR (default $` + RootEnv + ` or /).
`

// Exit statuses of the supervise role.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitNotRunning = 3 // as systemctl status for an inactive unit
)

// Main is the `supervise` role of fediversity-standin.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	command := args[0]
	flags := flag.NewFlagSet("supervise "+command, flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", DefaultPaths().Root, "system root")
	asJSON := flags.Bool("json", false, "status as JSON")
	if err := flags.Parse(args[1:]); err != nil {
		return exitUsage
	}
	paths := Paths{Root: *root}
	client := NewClient(paths)
	switch {
	case command == "run" && flags.NArg() == 0:
		return runDaemon(ctx, paths, stderr)
	case command == "status" && flags.NArg() == 0:
		return printStatus(ctx, client, *asJSON, stdout, stderr)
	case command == "shutdown" && flags.NArg() == 0:
		return report(stderr, client.Shutdown(ctx))
	case command == "stop" && flags.NArg() == 1:
		return report(stderr, client.Stop(ctx, flags.Arg(0), false))
	case (command == "start" || command == "restart") && flags.NArg() == 1:
		return report(stderr, StartUnit(ctx, client, paths, flags.Arg(0), command == "restart"))
	case command == "-h" || command == "--help" || command == "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
}

// runDaemon runs until SIGTERM, SIGINT or a shutdown request. It outlives
// the SSH session that started it: it runs in its own session and ignores
// SIGHUP.
func runDaemon(ctx context.Context, paths Paths, stderr io.Writer) int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Daemon(ctx, paths); err != nil {
		fmt.Fprintf(stderr, "supervise: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// StatusReport is what `status --json` prints, for the provider.
type StatusReport struct {
	Running bool         `json:"running"`
	Units   []UnitStatus `json:"units"`
}

func printStatus(ctx context.Context, client Client, asJSON bool, stdout, stderr io.Writer) int {
	units, err := client.Status(ctx)
	running := err == nil
	if asJSON {
		if units == nil {
			units = []UnitStatus{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(StatusReport{Running: running, Units: units})
		return exitOK
	}
	if !running {
		fmt.Fprintf(stderr, "supervise: %v\n", err)
		return exitNotRunning
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "UNIT\tSTATE\tPID\tSINCE\tRESTARTS\tLAST EXIT")
	for _, u := range units {
		state := u.State
		if u.Result != "" && u.Result != "success" {
			state += " (" + u.Result + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", u.Name, state, dash(u.PID), u.Since.Format(time.DateTime), u.Restarts, orDash(u.LastExit))
	}
	_ = w.Flush()
	return exitOK
}

// StartUnit starts (or restarts) a unit with its definition in the current
// system (/run/current-system), as systemctl start and restart do.
func StartUnit(ctx context.Context, client Client, paths Paths, name string, restart bool) error {
	units, err := ReadUnitsFile(filepath.Join(paths.CurrentSystem(), "units.json"))
	if err != nil {
		return err
	}
	for _, u := range units {
		if u.Name == name {
			if restart {
				return client.Restart(ctx, name, &u)
			}
			return client.Start(ctx, u)
		}
	}
	return fmt.Errorf("the current system has no unit %s", name)
}

func report(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "supervise: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func dash(pid int) string {
	if pid == 0 {
		return "-"
	}
	return fmt.Sprint(pid)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
