package containers

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const usage = `usage: nixos-container list
       nixos-container create NAME --system-path PATH
       nixos-container start NAME
       nixos-container stop NAME
       nixos-container destroy NAME
       nixos-container status NAME
       nixos-container show-ip NAME
       nixos-container run NAME -- COMMAND [ARGS...]

The sandbox's nixos-container: NAME is 1-11 of a-z, 0-9 and '-', starting
with a letter. Updating is setting the profile and reloading:
  nix-env -p /nix/var/nix/profiles/per-container/NAME/system --set PATH
  systemctl reload container@NAME
`

// Exit statuses: nixos-container dies with 1 (or errno) on any error.
const (
	exitOK      = 0
	exitFailure = 1
)

// command is one action of nixos-container on a named container.
type command func(ctx context.Context, name string, args []string, out outputs) error

type outputs struct{ stdout, stderr io.Writer }

var commands = map[string]command{
	"create": create,
	"start": func(ctx context.Context, name string, _ []string, out outputs) error {
		return Start(ctx, name, out.stderr)
	},
	"stop":    func(ctx context.Context, name string, _ []string, _ outputs) error { return Stop(ctx, name) },
	"destroy": func(ctx context.Context, name string, _ []string, _ outputs) error { return Destroy(ctx, name) },
	"status":  status,
	"show-ip": showIP,
}

// Main is the `nixos-container` role of fediversity-standin.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitFailure
	}
	action, rest := args[0], args[1:]
	switch action {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "list":
		return fail(stderr, list(stdout))
	case "run":
		return runCommand(rest, stdout, stderr)
	}
	cmd, ok := commands[action]
	if !ok {
		fmt.Fprintf(stderr, "nixos-container: unknown action ‘%s’\n%s", action, usage)
		return exitFailure
	}
	if len(rest) == 0 {
		return fail(stderr, fmt.Errorf("no container name specified"))
	}
	return fail(stderr, cmd(ctx, rest[0], rest[1:], outputs{stdout, stderr}))
}

func fail(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintf(stderr, "nixos-container: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func create(ctx context.Context, name string, args []string, out outputs) error {
	flags := flag.NewFlagSet("nixos-container create", flag.ContinueOnError)
	flags.SetOutput(out.stderr)
	systemPath := flags.String("system-path", "", "the container's first system (a store path)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	return Create(ctx, name, *systemPath, out.stdout, out.stderr)
}

// status prints "up" or "down", or "gone" for a container that does not
// exist (then failing, as nixos-container does).
func status(_ context.Context, name string, _ []string, out outputs) error {
	up, err := Running(name)
	switch {
	case err != nil && checkName(name) == nil:
		fmt.Fprintln(out.stdout, "gone")
		return err
	case err != nil:
		return err
	case up:
		fmt.Fprintln(out.stdout, "up")
	default:
		fmt.Fprintln(out.stdout, "down")
	}
	return nil
}

func showIP(_ context.Context, name string, _ []string, out outputs) error {
	_, cf, err := existing(name)
	if err != nil {
		return err
	}
	if cf.localAddress == "" {
		return fmt.Errorf("cannot get IP address")
	}
	fmt.Fprintln(out.stdout, cf.localAddress)
	return nil
}

func list(stdout io.Writer) error {
	confs, err := filepath.Glob(filepath.Join(confDir, "*.conf"))
	if err != nil {
		return err
	}
	sort.Strings(confs)
	for _, path := range confs {
		fmt.Fprintln(stdout, strings.TrimSuffix(filepath.Base(path), ".conf"))
	}
	return nil
}

// runCommand is `run NAME -- COMMAND...`; it exits with the command's status.
func runCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) < 3 || args[1] != "--" {
		fmt.Fprint(stderr, usage)
		return exitFailure
	}
	code, err := Run(args[0], args[2:], os.Stdin, stdout, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	return code
}
