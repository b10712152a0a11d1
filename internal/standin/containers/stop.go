package containers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// shutdownTimeout bounds the container's supervisor stopping its units,
// each within its own stop timeout; what is left then is killed.
const shutdownTimeout = 2 * time.Minute

// Stop stops the container, as `nixos-container stop NAME`: its supervisor
// stops its units, then every process of its namespace is ended, which
// frees the namespace and its mounts. A stopped container stays stopped.
func Stop(ctx context.Context, name string) error {
	c, _, err := existing(name)
	if err != nil {
		return err
	}
	release, err := c.lock()
	if err != nil {
		return err
	}
	defer release()
	return c.stop(ctx)
}

func (c container) stop(ctx context.Context) error {
	l, err := c.launch()
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never started
	}
	if err != nil {
		return err
	}
	if l.LauncherAlive() {
		shutdownSupervisor(ctx, l)
	}
	if err := mountns.Kill(l); err != nil {
		return fmt.Errorf("failed to stop container %s: %w", c.name, err)
	}
	return nil
}

// shutdownSupervisor asks the container's supervisor, on its socket in the
// container's /run, to stop every unit; one that does not answer is ended
// with the rest.
func shutdownSupervisor(ctx context.Context, l mountns.Launch) {
	ctx, cancel := context.WithTimeout(ctx, shutdownTimeout)
	defer cancel()
	client := supervisor.NewClient(supervisor.Paths{Root: fmt.Sprintf("/proc/%d/root", l.PID)})
	_ = client.Shutdown(ctx)
}

// Running says whether the container runs, as `nixos-container status`.
func Running(name string) (bool, error) {
	c, _, err := existing(name)
	return err == nil && c.running(), err
}
