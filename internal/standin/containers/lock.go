package containers

import (
	"fmt"
	"os"
	"syscall"
)

// lock serialises starts, stops and destroys of the container, as systemd
// runs one job of a unit at a time. The kernel drops it with its holder.
func (c container) lock() (release func(), err error) {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(c.lockFile(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// Go's signal handlers restart an interrupted flock (SA_RESTART).
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", c.lockFile(), err)
	}
	return func() { f.Close() }, nil
}
