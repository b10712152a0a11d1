package acctest

import (
	"path/filepath"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// LocalBuild prepares this machine to build a sandbox host's systems
// itself (build_location = "local"), as the host would: with the stand-in
// nixpkgs the host has, which is returned (a path on this machine), and
// the same stand-in program, so that the store paths match the host's.
// The stand-in's builders run /bin/sh, outside Nix's build sandbox, and
// nothing is substituted: there is no network.
func LocalBuild(t *testing.T, h sandbox.Host) (nixpkgs string) {
	t.Helper()
	SandboxOnly(t)
	t.Setenv("NIX_PATH", "fediversity-standin="+standin)
	t.Setenv("NIX_CONFIG", "sandbox = false\nsubstituters =\n")
	return filepath.Join(h.StateDir, "nixpkgs")
}
