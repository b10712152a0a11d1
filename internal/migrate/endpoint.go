// Package migrate moves an operator's data between two runtimes, possibly
// of two hosting providers: state directories, secrets, mail and databases
// streamed from one host to the other through this process (never copied
// whole onto the machine running OpenTofu), each checked against a
// manifest computed on both hosts.
package migrate

import (
	"context"
	"path"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Runner runs one command on a host with its streams; *remote.Client is one.
type Runner interface {
	Run(ctx context.Context, cmd remote.Cmd) error
}

// Endpoint is one side of a migration: a host, and where on it the
// runtime's files live and its commands run.
type Endpoint struct {
	Host Runner
	// Root is where the runtime's / lies on the host: "/" for the host's
	// own system, /var/lib/nixos-containers/NAME for a container.
	Root string
	// Container names the runtime's NixOS container; empty for the host's
	// own system. Database commands run inside it.
	Container string
}

// HostPath is where a path of the runtime lies on the host.
func (e Endpoint) HostPath(p string) string {
	return path.Join(e.Root, p)
}

// InRuntime is a command as it runs inside the runtime: in its container,
// or on the host itself.
func (e Endpoint) InRuntime(args ...string) []string {
	if e.Container == "" {
		return args
	}
	return append([]string{"nixos-container", "run", e.Container, "--"}, args...)
}
