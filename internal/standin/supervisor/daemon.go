package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Daemon runs the supervisor of one system root until ctx ends or a client
// asks for shutdown; either way every unit is stopped first. A second
// daemon for the same root refuses to start.
func Daemon(ctx context.Context, paths Paths) error {
	dir := filepath.Dir(paths.Socket())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil { // only root may talk to it
		return err
	}
	lock, err := lockDaemon(paths)
	if err != nil {
		return err
	}
	defer lock.Close()
	_ = os.Remove(paths.Socket()) // left by a daemon that died
	l, err := net.Listen("unix", paths.Socket())
	if err != nil {
		return err
	}
	defer l.Close()
	if err := os.Chmod(paths.Socket(), 0o600); err != nil {
		return err
	}
	sup := New(paths)
	srv := NewServer(sup)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		sup.Shutdown()
	case <-srv.ShutdownRequested():
	case err := <-served:
		sup.Shutdown()
		return err
	}
	return nil
}

// lockDaemon takes the daemon lock (held for the daemon's life; the kernel
// drops it when the daemon dies) and writes the daemon's pid into it.
func lockDaemon(paths Paths) (*os.File, error) {
	f, err := os.OpenFile(paths.DaemonLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("a supervisor already runs for this system (lock %s held)", paths.DaemonLock())
		}
		return nil, err
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}
