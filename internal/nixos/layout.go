// Package nixos builds and activates NixOS systems on a host over SSH: it
// sets a profile generation, runs switch-to-configuration detached from the
// SSH session, gates on health and rolls back to the previous generation
// when anything fails. It speaks the same commands to a real NixOS machine
// and to a sandbox host.
package nixos

import (
	"fmt"
	"path"
	"strings"
)

// Layout of what the provider keeps on a host. Everything lives in places
// NixOS itself uses or in the provider's own /etc/fediversity and
// /run/fediversity.
const (
	systemProfile     = "/nix/var/nix/profiles/system"
	containerProfiles = "/nix/var/nix/profiles/per-container"
	lockDir           = "/run/fediversity/locks"
	activationsDir    = "/run/fediversity/activations"
	keepRecords       = 20 // finished activation records kept for inspection
)

// Profile is a Nix profile whose generations are the systems of one
// runtime: the host's own system profile or a container's.
type Profile struct {
	Path string // e.g. /nix/var/nix/profiles/system
	Lock string // serialises builds and switches of this profile
	// Container is the NixOS container whose system this is; empty for the
	// host's own. A container's system is activated by nixos-container and
	// container@NAME's reload instead of switch-to-configuration.
	Container string
}

// SystemProfile is the host's own NixOS system.
func SystemProfile() Profile {
	return Profile{Path: systemProfile, Lock: path.Join(lockDir, "system.lock")}
}

// ContainerProfile is the system of the NixOS container name, as
// nixos-container keeps it.
func ContainerProfile(name string) (Profile, error) {
	if !validContainerName(name) {
		return Profile{}, fmt.Errorf("container name %q: want 1-11 lower-case letters, digits or '-', starting with a letter", name)
	}
	return Profile{
		Path:      path.Join(containerProfiles, name, "system"),
		Lock:      path.Join(lockDir, "container-"+name+".lock"),
		Container: name,
	}, nil
}

// validContainerName follows nixos-container: the name becomes a network
// interface name (ve-NAME), which is limited to 15 characters.
func validContainerName(name string) bool {
	if len(name) == 0 || len(name) > 11 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	return strings.IndexFunc(name, func(c rune) bool {
		return (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-'
	}) < 0
}
