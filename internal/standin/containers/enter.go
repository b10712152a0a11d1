package containers

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// containerEnv is what commands run inside a container get: as in an SSH
// session on a sandbox host, the current system's programs come first.
var containerEnv = []string{
	"PATH=/run/current-system/sw/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
	"HOME=/root",
}

// Reload switches the running container to its profile's current system,
// as NixOS's container@NAME reload does (switch-to-configuration test,
// inside), and returns the switch's exit status: 4 when units failed.
func Reload(name string, stdout, stderr io.Writer) (int, error) {
	return Run(name, []string{systemProfile + "/bin/switch-to-configuration", "test"}, nil, stdout, stderr)
}

// Run runs a command inside the running container, as `nixos-container run
// NAME -- COMMAND...`, and returns its exit status. The command runs to its
// end even if this program is asked to stop: a switch cut short would
// leave the container half switched.
func Run(name string, command []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	c, _, err := existing(name)
	if err != nil {
		return 0, err
	}
	l, err := c.launch()
	if err != nil || !l.LauncherAlive() {
		return 0, fmt.Errorf("container ‘%s’ is not running", name)
	}
	pid, err := l.MemberPID()
	if err != nil {
		return 0, err
	}
	args := append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", pid), "--"}, command...)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = containerEnv
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}
