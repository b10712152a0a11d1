package containers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

// rootDirs are created in a container's root; its /var mirrors the layout
// daemons expect from a NixOS /var, as a sandbox host's does.
var rootDirs = []struct {
	path string
	mode os.FileMode
}{
	{"", 0o755},
	{varDir + "/empty", 0o555},
	{varDir + "/log", 0o755},
	{varDir + "/lib", 0o755},
	{varDir + "/cache", 0o755},
	{varDir + "/tmp", 0o777 | os.ModeSticky},
	{rootHomeDir, 0o700},
	{etcUpperDir, 0o755},
	{etcWorkDir, 0o700},
}

// prepareRoot creates the container's directories, keeping what exists,
// and writes what its /etc must have before it starts: the sandbox marker
// with the container's own address, and the host's Nix configuration
// (which the overlay would not show: it is a mount of its own in the host).
func (c container) prepareRoot(cf conf) error {
	for _, d := range rootDirs {
		p := filepath.Join(c.root(), d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil { // MkdirAll is subject to umask
			return err
		}
	}
	run := filepath.Join(c.root(), varDir, "run")
	if _, err := os.Lstat(run); errors.Is(err, fs.ErrNotExist) {
		if err := os.Symlink("/run", run); err != nil {
			return err
		}
	}
	return c.writeEtc(cf)
}

func (c container) writeEtc(cf conf) error {
	marker := fmt.Sprintf("sandbox=1\ncontainer=1\nname=%s\naddress=%s\n", c.name, cf.localAddress)
	if err := c.writeInEtc(hostaddr.MarkerFile, []byte(marker)); err != nil {
		return err
	}
	nixConf, err := os.ReadFile(nixConfFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return c.writeInEtc(nixConfFile, nixConf)
}

const nixConfFile = "/etc/nix/nix.conf"

// writeInEtc writes a file of the container's /etc (an absolute path) into
// the upper layer of its overlay.
func (c container) writeInEtc(path string, content []byte) error {
	inUpper := filepath.Join(c.root(), etcUpperDir, strings.TrimPrefix(path, "/etc/"))
	if err := os.MkdirAll(filepath.Dir(inUpper), 0o755); err != nil {
		return err
	}
	return os.WriteFile(inUpper, content, 0o644)
}
