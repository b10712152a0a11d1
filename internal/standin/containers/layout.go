// Package containers is the stand-in's nixos-container (the `nixos-container`
// role of fediversity-standin): imperative NixOS containers on sandbox
// hosts, created, started, reloaded, stopped and destroyed with the same
// commands and files as on NixOS.
//
// A container is a private mount namespace nested in its host's, with its
// own /run, /tmp, /root, /var (the host's /var/lib/nixos-containers/NAME/var)
// and an overlay over the host's /etc, sharing the host's /nix read-write as
// real containers share the store. Its system profile is the host's
// /nix/var/nix/profiles/per-container/NAME/system, bound onto
// /nix/var/nix/profiles inside, as on NixOS. It has its own loopback address
// (LOCAL_ADDRESS), named in its /etc/fediversity/sandbox-host so that its
// stand-in services listen there (package hostaddr), and its own supervisor.
package containers

import (
	"path/filepath"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
)

// Where nixos-container keeps containers on NixOS.
const (
	confDir     = "/etc/nixos-containers"               // NAME.conf
	rootsDir    = "/var/lib/nixos-containers"           // NAME/: the container's files
	profilesDir = "/nix/var/nix/profiles/per-container" // NAME/system
	gcRootsDir  = "/nix/var/nix/gcroots/per-container"  // NAME/
	logDir      = "/var/log/nixos-containers"           // NAME.log: boot output
	lockDir     = "/run/nixos-containers"               // NAME.lock
)

// In a container's root (/var/lib/nixos-containers/NAME): its /var, /root
// and the upper layer of its /etc are directories there, as on NixOS; the
// launch record is out of the container's sight.
const (
	varDir       = "var"
	rootHomeDir  = "root"
	etcUpperDir  = "etc"
	etcWorkDir   = ".etc-work" // overlayfs's own, beside the upper layer
	launchRecord = ".sandbox-launch.json"
)

// Inside a running container.
const (
	instanceFile   = "/run/fediversity-container/instance"
	bootStatusFile = "/run/fediversity-container/boot-status" // the boot switch's exit status
	systemProfile  = "/nix/var/nix/profiles/system"
)

// container is one container's paths on its host.
type container struct {
	name string
}

func (c container) confFile() string   { return filepath.Join(confDir, c.name+".conf") }
func (c container) root() string       { return filepath.Join(rootsDir, c.name) }
func (c container) profileDir() string { return filepath.Join(profilesDir, c.name) }
func (c container) profile() string    { return filepath.Join(c.profileDir(), "system") }
func (c container) gcRoots() string    { return filepath.Join(gcRootsDir, c.name) }
func (c container) logFile() string    { return filepath.Join(logDir, c.name+".log") }
func (c container) recordFile() string { return filepath.Join(c.root(), launchRecord) }
func (c container) lockFile() string   { return filepath.Join(lockDir, c.name+".lock") }

// launch reads the record of the container's latest start; a container
// never started has none.
func (c container) launch() (mountns.Launch, error) {
	return mountns.ReadLaunch(c.recordFile())
}

// running says whether the container's latest start still runs.
func (c container) running() bool {
	l, err := c.launch()
	return err == nil && l.LauncherAlive()
}

// Launches reads the launch records of every container of the host whose
// root directory is hostRoot ("/" inside the host; a sandbox host's state
// dir on the machine), for sandbox.Down to end them with the host.
func Launches(hostRoot string) []mountns.Launch {
	records, _ := filepath.Glob(filepath.Join(hostRoot, rootsDir, "*", launchRecord))
	var launches []mountns.Launch
	for _, path := range records {
		if l, err := mountns.ReadLaunch(path); err == nil {
			launches = append(launches, l)
		}
	}
	return launches
}
