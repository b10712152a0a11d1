package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// Requirements says in one message what this machine lacks to run sandbox
// hosts, or nil when nothing is missing. Tests skip (or fail in CI) on it.
func Requirements() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (mount namespaces and port 22)")
	}
	if info, err := os.Stat("/usr/sbin/sshd"); err != nil || info.Mode()&0o111 == 0 {
		missing = append(missing, "/usr/sbin/sshd (Debian: openssh-server)")
	}
	if _, err := user.Lookup("sshd"); err != nil {
		missing = append(missing, "the sshd privilege separation user (Debian: openssh-server)")
	}
	for _, tool := range []struct{ name, hint string }{
		{"nix-store", "Debian: nix-bin"},
		{"unshare", "util-linux"},
		{"nsenter", "util-linux"},
		{"mount", "mount"},
	} {
		if _, err := exec.LookPath(tool.name); err != nil {
			missing = append(missing, tool.name+" ("+tool.hint+")")
		}
	}
	if !kernelHasOverlay() {
		missing = append(missing, "overlayfs in the kernel (for each host's own /etc)")
	}
	if len(missing) > 0 {
		return errors.New("sandbox hosts need: " + strings.Join(missing, ", "))
	}
	return nil
}

// kernelHasOverlay looks for overlayfs built in or loaded, or as a module
// that the first overlay mount would load.
func kernelHasOverlay() bool {
	if modules, _ := filepath.Glob("/lib/modules/*/kernel/fs/overlayfs/overlay.ko*"); len(modules) > 0 {
		return true
	}
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(line, "nodev")) == "overlay" {
			return true
		}
	}
	return false
}
