// Package sandbox runs NixOS-like "sandbox hosts" on this machine for the
// provider's demo and acceptance tests: each host is a private mount
// namespace with its own /nix, /var, /run, /tmp, /root and /etc, and a real
// sshd on its own loopback address (127.0.0.N:22) that admits root by key.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
)

// Options describe a fleet to bring up.
type Options struct {
	Dir   string // the fleet's state dir on the machine (each host under Dir/hosts/NAME)
	Hosts int    // how many hosts
	// FirstAddress is N of 127.0.0.N for the first host, the others follow;
	// 0 picks free addresses automatically (2..254, skipping any in use on port 22).
	FirstAddress int
	// ClientKeyPath is an existing private key to authorise; if empty one is
	// generated at Dir/client_ed25519 and shared by the fleet's hosts.
	ClientKeyPath string
	// StandinBinary is the fediversity-standin program installed into every
	// host for its stand-in NixOS; empty installs none.
	StandinBinary string
}

// Fleet is a set of running sandbox hosts, as written to Dir/fleet.json.
type Fleet struct {
	Dir             string `json:"dir"`
	Hosts           []Host `json:"hosts"`
	ClientKeyPath   string `json:"client_key_path"`
	ClientPublicKey string `json:"client_public_key"`
	StandinBinary   string `json:"standin_binary,omitempty"`
}

// Up cleans whatever an earlier run in o.Dir left (Down, then its state),
// then creates keys and boots all hosts, waits until each accepts SSH, and
// records the fleet in Dir/fleet.json. If any host fails, none is left running.
func Up(ctx context.Context, o Options) (*Fleet, error) {
	if o.Dir == "" || o.Hosts < 1 || o.FirstAddress < 0 || o.FirstAddress > maxHostAddressN {
		return nil, fmt.Errorf("sandbox: need a dir, at least one host and a first address in 1..%d (or 0), got %+v", maxHostAddressN, o)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	dir, err := canonicalDir(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := resetDir(dir, o.ClientKeyPath); err != nil {
		return nil, err
	}
	f, release, err := newFleet(dir, o)
	if err != nil {
		return nil, err
	}
	defer release() // the sshds listen, or the fleet is down
	for _, h := range f.Hosts {
		if err := h.start(ctx, f.ClientPublicKey, f.StandinBinary); err != nil {
			return nil, errors.Join(err, Down(dir))
		}
	}
	if err := mountns.WriteJSON(filepath.Join(dir, fleetFile), f); err != nil {
		return nil, errors.Join(err, Down(dir))
	}
	return f, nil
}

// resetDir stops an earlier fleet in dir and removes its state, after making
// sure nothing of it is alive and that dir is a fleet dir (or a new one).
// A client key the caller passes in is kept even if it lies in dir.
func resetDir(dir, clientKeyPath string) error {
	if err := Down(dir); err != nil {
		return err
	}
	left, err := Leftovers(dir)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("sandbox: %s is still in use after Down: %v", dir, left)
	}
	marker := filepath.Join(dir, fleetMarkerFile)
	if _, err := os.Stat(filepath.Join(dir, hostsDir)); err == nil {
		if _, err := os.Stat(marker); err != nil {
			return fmt.Errorf("sandbox: %s has a hosts dir but no %s: not removing what this package did not create", dir, fleetMarkerFile)
		}
	}
	keep, _ := filepath.Abs(clientKeyPath)
	for _, name := range []string{hostsDir, fleetFile, clientKeyFile, clientKeyFile + ".pub"} {
		path := filepath.Join(dir, name)
		if path == keep || path == keep+".pub" {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
	return os.WriteFile(marker, []byte("state dir of a fediversity sandbox fleet\n"), 0o644)
}

// newFleet creates the client key, picks and reserves addresses (until
// release) and creates each host's state dir and host keys.
func newFleet(dir string, o Options) (f *Fleet, release func(), err error) {
	f = &Fleet{Dir: dir, ClientKeyPath: o.ClientKeyPath}
	if o.StandinBinary != "" {
		if f.StandinBinary, err = filepath.Abs(o.StandinBinary); err != nil {
			return nil, nil, err
		}
	}
	if f.ClientKeyPath == "" {
		f.ClientKeyPath = filepath.Join(dir, clientKeyFile)
		f.ClientPublicKey, err = writeNewKey(f.ClientKeyPath, "fediversity-sandbox-client", newEd25519Key)
	} else if f.ClientKeyPath, err = filepath.Abs(f.ClientKeyPath); err == nil {
		f.ClientPublicKey, err = readPrivateKeyPublic(f.ClientKeyPath)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: client key: %w", err)
	}
	addresses, release, err := pickAddresses(o.FirstAddress, o.Hosts)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	for i, address := range addresses {
		h := Host{
			Name:          fmt.Sprintf("host%d", i+1),
			Address:       address,
			Port:          sshPort,
			ClientKeyPath: f.ClientKeyPath,
		}
		h.StateDir = filepath.Join(dir, hostsDir, h.Name)
		if err := os.MkdirAll(h.StateDir, 0o700); err != nil {
			return nil, nil, err
		}
		if h.HostKeys, err = writeHostKeys(h.StateDir, h.Name); err != nil {
			return nil, nil, err
		}
		f.Hosts = append(f.Hosts, h)
	}
	return f, release, nil
}

// Down stops every host of the fleet in dir: it kills every process in each
// host's mount namespace, so the namespace and all its mounts vanish. State
// files stay for inspection. Safe to repeat, on a missing dir, or after a
// crash left stale pid files.
func Down(dir string) error {
	dir, err := canonicalDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range hostRecords(dir) {
		errs = append(errs, r.kill())
	}
	return errors.Join(errs...)
}

// Load reads the fleet recorded in dir by Up.
func Load(dir string) (*Fleet, error) {
	data, err := os.ReadFile(filepath.Join(dir, fleetFile))
	if err != nil {
		return nil, err
	}
	var f Fleet
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", filepath.Join(dir, fleetFile), err)
	}
	return &f, nil
}

// Host returns the host with the given name.
func (f *Fleet) Host(name string) (Host, error) {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return Host{}, fmt.Errorf("sandbox: no host %q in fleet %s", name, f.Dir)
}

// StopHost ends all processes of a host, like the first half of a reboot;
// its keys and state (/nix, /var, /root, /etc) are kept.
func (f *Fleet) StopHost(ctx context.Context, name string) error {
	h, err := f.Host(name)
	if err != nil {
		return err
	}
	h.shutdown(ctx)
	return h.stop()
}

// StartHost boots a stopped host again with the same keys, address and
// state; /run and /tmp start empty, as after a reboot.
func (f *Fleet) StartHost(ctx context.Context, name string) error {
	h, err := f.Host(name)
	if err != nil {
		return err
	}
	if h.running() {
		return fmt.Errorf("sandbox: host %s is already running", name)
	}
	if err := h.stop(); err != nil { // sessions a crashed sshd left behind
		return err
	}
	return h.start(ctx, f.ClientPublicKey, f.StandinBinary)
}

// canonicalDir makes dir absolute and free of symlinks: it is compared with
// mount tables and passed into hosts, whose view of symlinks may differ.
func canonicalDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
