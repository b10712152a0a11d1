package activate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockSwitch takes /run/nixos/switch-to-configuration.lock as NixOS does.
func lockSwitch(path string, stderr io.Writer) (release func(), err error) {
	return lockExclusive(path, "another switch-to-configuration", stderr)
}

// lockExclusive takes the lock file at path with flock: a second holder
// waits for the first (WHO: what it waits for, as said while waiting), and
// a lock file left by a process that died is no obstacle, since the kernel
// drops a flock with its holder.
func lockExclusive(path, who string, stderr io.Writer) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		fmt.Fprintf(stderr, "waiting for %s to finish (%s)...\n", who, path)
		err = flockRetryingEINTR(fd)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func flockRetryingEINTR(fd int) error {
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
