package remote

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"
)

const (
	commandShownBytes = 200     // of the quoted command, in errors
	stderrTailLines   = 20      // of standard error, in errors
	stderrTailBytes   = 8 << 10 // kept while the command runs
)

// Client is one SSH connection of a Pool; sessions are multiplexed on it.
// Obtain it from Pool.Client for every operation: a dead Client is not
// revived, the pool replaces it.
type Client struct {
	hostPort string
	cfg      Config
	conn     *ssh.Client
	commands *atomic.Int64
	logCtx   context.Context // for background logging (keepalive, loss)

	slots chan struct{} // session semaphore, MaxSessions deep

	dead      chan struct{} // closed once the connection is gone
	causeOnce sync.Once
	cause     error // why it is gone; set before dead is closed
}

// Cmd is one remote command. Args are quoted by Quote; Stdin is streamed to
// the command and never logged.
type Cmd struct {
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Timeout        time.Duration // 0: Config.CommandTimeout
}

func newClient(logCtx context.Context, conn *ssh.Client, hostPort string, cfg Config, commands *atomic.Int64) *Client {
	c := &Client{
		hostPort: hostPort,
		cfg:      cfg,
		conn:     conn,
		commands: commands,
		logCtx:   logCtx,
		slots:    make(chan struct{}, cfg.MaxSessions),
		dead:     make(chan struct{}),
	}
	go c.watch()
	go c.keepalive()
	return c
}

// Output runs args and returns its standard output. A non-zero exit is a
// *CommandError carrying the tail of standard error.
func (c *Client) Output(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := c.Run(ctx, Cmd{Args: args, Stdout: &out})
	return out.Bytes(), err
}

// Run runs cmd and waits for it. It fails with *CommandError on a non-zero
// exit, *TimeoutError when the command outlives its timeout (it is killed),
// *ConnectionLostError when the connection dies, or ctx's error when ctx ends
// first (the command is killed too).
func (c *Client) Run(ctx context.Context, cmd Cmd) error {
	if len(cmd.Args) == 0 {
		return errors.New("remote: empty command")
	}
	command, err := Quote(cmd.Args)
	if err != nil {
		return fmt.Errorf("command for %s: %w", c.hostPort, err)
	}
	release, err := c.acquireSession(ctx)
	if err != nil {
		return err
	}
	defer release()

	start := time.Now()
	tflog.Debug(ctx, "SSH command starting", map[string]any{"host": c.hostPort, "command": command})
	err = c.runSession(ctx, command, cmd)
	fields := map[string]any{"host": c.hostPort, "command": command, "duration": time.Since(start).String(), "exit_status": exitStatus(err)}
	if err != nil {
		fields["error"] = err.Error()
	}
	tflog.Debug(ctx, "SSH command finished", fields)
	return err
}

// acquireSession waits for one of the connection's MaxSessions slots, so
// that sshd's own MaxSessions limit is never hit.
func (c *Client) acquireSession(ctx context.Context) (release func(), err error) {
	if !c.alive() {
		return nil, c.lostError()
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("command on %s not started: %w", c.hostPort, err)
	}
	select {
	case c.slots <- struct{}{}:
		return func() { <-c.slots }, nil
	case <-c.dead:
		return nil, c.lostError()
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free SSH session on %s: %w", c.hostPort, context.Cause(ctx))
	}
}

func (c *Client) runSession(ctx context.Context, command string, cmd Cmd) error {
	sess, err := c.conn.NewSession()
	if err != nil {
		return c.sessionError("opening an SSH session", err)
	}
	defer sess.Close()

	tail := &tailBuffer{max: stderrTailBytes}
	stdout, stderr := newGatedWriter(cmd.Stdout), newGatedWriter(multiWriter(cmd.Stderr, tail))
	leader := &pidCapture{next: stderr}
	stdin := newGatedReader(cmd.Stdin)
	// Once Run returns, the session's copy goroutines must not touch the
	// caller's streams any more.
	defer stdin.close()
	defer stdout.close()
	defer stderr.close()
	sess.Stdout, sess.Stderr = stdout, leader
	if stdin != nil {
		sess.Stdin = stdin
	}

	c.commands.Add(1)
	if err := sess.Start(announcePID(command)); err != nil {
		return c.sessionError("starting a command", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sess.Wait() }()

	timeout := cmp.Or(cmd.Timeout, c.cfg.CommandTimeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-exited:
		return c.exitError(err, command, tail)
	case <-timer.C:
		c.kill(sess, leader.pid())
		return &TimeoutError{HostPort: c.hostPort, Command: shorten(command, commandShownBytes), Timeout: timeout}
	case <-ctx.Done():
		c.kill(sess, leader.pid())
		return fmt.Errorf("command on %s interrupted: %s: %w", c.hostPort, shorten(command, commandShownBytes), context.Cause(ctx))
	case <-c.dead:
		return c.lostError()
	}
}

// kill stops a remote command and everything it started. OpenSSH refuses
// "signal" requests in common set-ups (root logins report "session
// signalling requires privilege separation"), so the command's process group
// is also killed from a second session. Closing the session releases the
// channel either way.
func (c *Client) kill(sess *ssh.Session, leader int) {
	_ = sess.Signal(ssh.SIGKILL)
	if leader > 0 {
		c.killProcessGroup(leader)
	}
	_ = sess.Close()
}

const killTimeout = 10 * time.Second

func (c *Client) killProcessGroup(leader int) {
	killer, err := c.conn.NewSession()
	if err != nil {
		return
	}
	defer killer.Close()
	done := make(chan error, 1)
	go func() { done <- killer.Run(fmt.Sprintf("kill -s KILL -- -%d", leader)) }()
	select {
	case err = <-done:
	case <-time.After(killTimeout):
		err = errors.New("no answer")
	}
	if err != nil {
		tflog.Warn(c.logCtx, "could not kill a remote command's process group", map[string]any{"host": c.hostPort, "pgid": leader, "error": err.Error()})
	}
}

// lostGrace is how long a session that ended without an exit status waits to
// learn whether the whole connection went down with it.
const lostGrace = time.Second

func (c *Client) exitError(err error, command string, tail *tailBuffer) error {
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exitErr):
		return &CommandError{HostPort: c.hostPort, Command: shorten(command, commandShownBytes),
			ExitStatus: exitErr.ExitStatus(), Stderr: tail.lastLines(stderrTailLines)}
	case errors.Is(err, io.EOF):
		// The command exited 0 without reading all of its stdin: like ssh(1),
		// that is success.
		return nil
	case c.lostWithin(lostGrace):
		// No exit status because the connection went down with the session.
		return c.lostError()
	case errors.As(err, &missing):
		return &CommandError{HostPort: c.hostPort, Command: shorten(command, commandShownBytes),
			ExitStatus: -1, Stderr: tail.lastLines(stderrTailLines)}
	default:
		return fmt.Errorf("command on %s: %s: %w", c.hostPort, shorten(command, commandShownBytes), err)
	}
}

func (c *Client) sessionError(doing string, err error) error {
	if c.lostWithin(lostGrace) {
		return c.lostError()
	}
	return fmt.Errorf("%s on %s: %w", doing, c.hostPort, err)
}

func (c *Client) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

func (c *Client) lostWithin(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-c.dead:
		return true
	case <-timer.C:
		return false
	}
}

// lostError must only be called once dead is closed.
func (c *Client) lostError() error {
	return &ConnectionLostError{HostPort: c.hostPort, Err: c.cause}
}

// exitStatus is for logs: 0 on success, the status of a failed command, -1
// when the command did not report one.
func exitStatus(err error) int {
	var cmdErr *CommandError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &cmdErr):
		return cmdErr.ExitStatus
	default:
		return -1
	}
}
