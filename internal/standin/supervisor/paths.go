// Package supervisor is the stand-in for systemd on sandbox hosts: one
// daemon per system root runs the units of the current system as child
// processes, restarts them by their Restart= policy, and answers a JSON-lines
// protocol on a Unix socket (status, start, stop, restart, shutdown).
// switch-to-configuration (package activate) is its main client.
package supervisor

import (
	"os"
	"path/filepath"
)

// RootEnv moves every path the stand-in uses (/run, /var/lib, /var/log, ...)
// under another directory, so that tests need no real /run. Real hosts leave
// it unset.
const RootEnv = "FEDIVERSITY_STANDIN_ROOT"

// Paths are the files and directories of one system root.
type Paths struct {
	Root string // "" or "/" on a real host
}

// DefaultPaths honours RootEnv.
func DefaultPaths() Paths { return Paths{Root: os.Getenv(RootEnv)} }

// Join places an absolute path of the system under the root.
func (p Paths) Join(abs string) string {
	if p.Root == "" {
		return filepath.Clean(abs)
	}
	return filepath.Join(p.Root, abs)
}

// Socket is where the daemon listens (mode 0600, in a 0700 directory).
func (p Paths) Socket() string { return p.Join("/run/fediversity-supervisor/control.sock") }

// DaemonLock is held by the running daemon, so a second one refuses to start.
func (p Paths) DaemonLock() string { return p.Join("/run/fediversity-supervisor/daemon.lock") }

// LogDir holds one log file per unit, <unit>.log, and the daemon's own.
func (p Paths) LogDir() string { return p.Join("/var/log/fediversity") }

// UnitLog is where a unit's stdout and stderr are appended.
func (p Paths) UnitLog(unit string) string { return filepath.Join(p.LogDir(), unit+".log") }

// DaemonLog receives the daemon's own output.
func (p Paths) DaemonLog() string { return filepath.Join(p.LogDir(), "supervisor.log") }

// CurrentSystem is the link to the active system (as /run/current-system).
func (p Paths) CurrentSystem() string { return p.Join("/run/current-system") }
