// Command fediversity-sandbox brings up, inspects and tears down a fleet of
// sandbox hosts: NixOS-like SSH targets on this machine's loopback addresses.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

const usage = `usage: fediversity-sandbox COMMAND [flags]

Sandbox hosts are private mount namespaces with their own /nix, /var, /run,
/tmp, /root and /etc, each with an sshd on 127.0.0.N:22 admitting root by key.

Commands:
  up      start a fresh fleet (stopping any earlier one in the dir) and print it as JSON
  down    stop every host of the fleet; state files stay for inspection
  status  show each host's liveness and anything of the fleet still alive
  known-hosts  print the fleet's host keys as OpenSSH known_hosts lines

Run "fediversity-sandbox COMMAND -h" for the flags of a command.
The default dir is $FEDIVERSITY_SANDBOX_DIR, else /var/lib/fediversity-sandbox/default.
`

// exitUsage is the exit status for bad usage, as flag.ExitOnError uses.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	commands := map[string]func([]string, io.Writer, io.Writer) int{
		"up": up, "down": down, "status": status, "known-hosts": knownHosts,
	}
	command, ok := commands[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "fediversity-sandbox: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return command(args[1:], stdout, stderr)
}

func defaultDir() string {
	if dir := os.Getenv("FEDIVERSITY_SANDBOX_DIR"); dir != "" {
		return dir
	}
	return "/var/lib/fediversity-sandbox/default"
}

// newFlags returns a flag set with the --dir flag every command takes.
func newFlags(name, summary string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", defaultDir(), "the fleet's state dir")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: fediversity-sandbox %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs, dir
}

// parse parses flags and refuses stray arguments; it returns the exit
// status to use when the command must not run (0 for -h).
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

func up(args []string, stdout, stderr io.Writer) int {
	fs, dir := newFlags("up", "Start a fresh fleet and print it as JSON.", stderr)
	hosts := fs.Int("hosts", 2, "how many hosts")
	first := fs.Int("first-address", 0, "N of 127.0.0.N for the first host; 0 picks free addresses")
	clientKey := fs.String("client-key", "", "private key to authorise (default: generate DIR/client_ed25519)")
	standin := fs.String("standin", "", "the fediversity-standin program to install for the hosts' stand-in NixOS")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *hosts < 1 || *first < 0 || *first > 254 {
		fmt.Fprintln(stderr, "--hosts must be at least 1 and --first-address in 0..254")
		fs.Usage()
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fleet, err := sandbox.Up(ctx, sandbox.Options{
		Dir: *dir, Hosts: *hosts, FirstAddress: *first, ClientKeyPath: *clientKey, StandinBinary: *standin,
	})
	if err != nil {
		fmt.Fprintln(stderr, "fediversity-sandbox up:", err)
		return 1
	}
	out, _ := json.MarshalIndent(fleet, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return 0
}

func down(args []string, stdout, stderr io.Writer) int {
	fs, dir := newFlags("down", "Stop every host of the fleet.", stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if err := sandbox.Down(*dir); err != nil {
		fmt.Fprintln(stderr, "fediversity-sandbox down:", err)
		return 1
	}
	return 0
}

func status(args []string, stdout, stderr io.Writer) int {
	fs, dir := newFlags("status", "Show each host's liveness and anything of the fleet still alive.", stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fleet, err := sandbox.Load(*dir); err == nil {
		for _, h := range fleet.Hosts {
			fmt.Fprintf(stdout, "%s\t%s:%d\t%s\n", h.Name, h.Address, h.Port, h.Liveness())
		}
	} else {
		fmt.Fprintf(stdout, "no fleet recorded in %s (%v)\n", *dir, err)
	}
	left, err := sandbox.Leftovers(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "fediversity-sandbox status:", err)
		return 1
	}
	if len(left) == 0 {
		fmt.Fprintln(stdout, "nothing of the fleet is alive")
	}
	for _, l := range left {
		fmt.Fprintln(stdout, "alive:", l)
	}
	return 0
}

func knownHosts(args []string, stdout, stderr io.Writer) int {
	fs, dir := newFlags("known-hosts", "Print the fleet's host keys as OpenSSH known_hosts lines.", stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	fleet, err := sandbox.Load(*dir)
	if err == nil {
		var lines string
		if lines, err = fleet.KnownHosts(); err == nil {
			fmt.Fprint(stdout, lines)
			return 0
		}
	}
	fmt.Fprintln(stderr, "fediversity-sandbox known-hosts:", err)
	return 1
}
