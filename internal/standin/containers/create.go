package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

// createLockTimeout bounds the wait for another create's address pick.
const createLockTimeout = 30 * time.Second

// Create makes a container whose first system is systemPath, as
// `nixos-container create NAME --system-path PATH`: its conf with a free
// address, its profile set to the system, and its root directory.
func Create(ctx context.Context, name, systemPath string, stdout, stderr io.Writer) error {
	if err := checkName(name); err != nil {
		return err
	}
	if systemPath == "" {
		return errors.New("--system-path is required: a sandbox host builds no configuration itself (build the system, then pass it)")
	}
	c := container{name}
	cf, err := c.writeConf(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "host IP is %s, container IP is %s\n", cf.hostAddress, cf.localAddress)
	if err := c.setProfile(systemPath, stdout, stderr); err != nil {
		return errors.Join(err, c.remove())
	}
	return c.prepareRoot(cf)
}

// writeConf picks the container's address and writes its conf, under the
// machine-wide address lock.
func (c container) writeConf(ctx context.Context) (conf, error) {
	ctx, cancel := context.WithTimeout(ctx, createLockTimeout)
	defer cancel()
	release, err := lockAddresses(ctx)
	if err != nil {
		return conf{}, err
	}
	defer release()
	if _, err := os.Stat(c.confFile()); !errors.Is(err, fs.ErrNotExist) {
		return conf{}, fmt.Errorf("container ‘%s’ already exists", c.name)
	}
	host, err := hostaddr.Local()
	if err != nil {
		return conf{}, err
	}
	local, err := pickLocalAddress()
	if err != nil {
		return conf{}, err
	}
	cf := conf{hostAddress: host.Address, localAddress: local}
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return conf{}, err
	}
	return cf, os.WriteFile(c.confFile(), []byte(cf.render()), 0o644)
}

// setProfile makes systemPath the first generation of the container's
// profile, with nix-env as nixos-container does.
func (c container) setProfile(systemPath string, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(profilesDir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(c.profileDir(), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("nix-env", "-p", c.profile(), "--set", systemPath)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to set initial container configuration: nix-env: %w", err)
	}
	return nil
}

// Destroy stops the container and removes its conf, root and profile, as
// `nixos-container destroy NAME`; destroying none is no error.
func Destroy(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	c := container{name}
	if _, err := readConf(c.confFile()); errors.Is(err, errNoContainer) {
		return nil
	}
	release, err := c.lock()
	if err != nil {
		return err
	}
	defer release()
	if err := c.stop(ctx); err != nil {
		return err
	}
	return c.remove()
}

// remove deletes everything of a stopped container, its conf last: a
// destroy cut short can be repeated.
func (c container) remove() error {
	for _, dir := range []string{c.profileDir(), c.gcRoots(), c.root()} {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.Remove(c.confFile()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
