// Command fediversity-standin stands in, on sandbox hosts, for the programs
// a NixOS system of the provider runs: one role per kind of program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/containers"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/proxy"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
	activate "github.com/fediversity/terraform-provider-fediversity/internal/standin/switch"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/systemctl"
)

// role is one kind of program the stand-in can be. run returns the exit status.
type role struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// roles: adding a role is adding a line.
var roles = map[string]role{
	"app":   {"serve one fediverse application (--config FILE)", runApp},
	"mail":  {"serve the operators' mail domains: SMTP in, Maildir, HTTP (--config FILE)", runMail},
	"proxy": {"serve HTTP virtual hosts, passing requests on as nginx does (--config FILE)", runProxy},
	// The switch starts the daemon as its own executable with "supervise run".
	"supervise": {"run or query the service supervisor: run|status [--json]|start|stop|restart UNIT|shutdown", supervisor.Main},
	"switch":    {"switch-to-configuration of a stand-in NixOS system: --toplevel SYSTEM switch|test|boot|dry-activate", activate.Main},
	// The stand-in NixOS system puts these two on PATH under their own names.
	"nixos-container": {"NixOS containers on a sandbox host: create NAME --system-path PATH|start|stop|destroy|status|show-ip|run|list", containers.Main},
	"systemctl":       {"start|stop|restart|is-active UNIT of the host, and the same plus reload for container@NAME", systemctl.Main},
}

// exitUsage is the exit status for bad usage, as flag.ExitOnError uses.
const exitUsage = 2

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	r, ok := roles[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage())
			return 0
		}
		fmt.Fprintf(stderr, "fediversity-standin: unknown role %q\n\n%s", args[0], usage())
		return exitUsage
	}
	return r.run(ctx, args[1:], stdout, stderr)
}

func usage() string {
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	sort.Strings(names)
	text := "usage: fediversity-standin ROLE [flags]\n\nRoles:\n"
	for _, name := range names {
		text += fmt.Sprintf("  %-16s %s\n", name, roles[name].summary)
	}
	return text + "\nRun \"fediversity-standin ROLE -h\" for the flags of a role.\nSIGTERM or SIGINT shuts a role down gracefully (exit status 0).\n"
}

func runApp(ctx context.Context, args []string, _, stderr io.Writer) int {
	return serveConfig(ctx, "app", args, stderr, apps.LoadConfig, apps.Run)
}

func runMail(ctx context.Context, args []string, _, stderr io.Writer) int {
	return serveConfig(ctx, "mail", args, stderr, apps.LoadMailConfig, apps.RunMail)
}

func runProxy(ctx context.Context, args []string, _, stderr io.Writer) int {
	return serveConfig(ctx, "proxy", args, stderr, proxy.LoadConfig, proxy.Run)
}

// serveConfig is the shape of every serving role: --config FILE, load it,
// serve until a signal; a refusal to start is one line and exit status 1.
func serveConfig[C any](ctx context.Context, name string, args []string, stderr io.Writer,
	load func(string) (C, error), serve func(context.Context, C, io.Writer) error) int {
	path, code, ok := parseConfigFlag(name, args, stderr)
	if !ok {
		return code
	}
	cfg, err := load(path)
	if err == nil {
		err = serve(ctx, cfg, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fediversity-standin %s: %v\n", name, err)
		return 1
	}
	return 0
}

// parseConfigFlag returns the --config path, or the exit status to leave
// with (0 for -h, 2 for bad usage) and false.
func parseConfigFlag(name string, args []string, stderr io.Writer) (string, int, bool) {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(stderr)
	config := flags.String("config", "", "the role's JSON configuration `file` (required)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: fediversity-standin %s --config FILE\n\nFlags:\n", name)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0, false
		}
		return "", exitUsage, false
	}
	if *config == "" || flags.NArg() > 0 {
		flags.Usage()
		return "", exitUsage, false
	}
	return *config, 0, true
}
