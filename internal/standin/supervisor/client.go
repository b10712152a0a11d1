package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// Client speaks the control protocol to the daemon of one system root.
type Client struct {
	Socket string
}

// NewClient returns a client for the daemon of paths.
func NewClient(paths Paths) Client { return Client{Socket: paths.Socket()} }

// ErrNotRunning says that no daemon answers on the socket.
var ErrNotRunning = errors.New("no supervisor is running")

// Do sends one request and reads its answer. The context bounds the whole
// exchange; stop and shutdown answer only once units are down.
func (c Client) Do(ctx context.Context, req Request) (Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return Response{}, fmt.Errorf("%w (%s): %w", ErrNotRunning, c.Socket, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Response{}, err
	}
	scanner := bufio.NewScanner(conn)
	scanner.Buffer(make([]byte, 64<<10), maxRequestSize)
	if !scanner.Scan() {
		if err := scanner.Err(); err != nil {
			return Response{}, err
		}
		return Response{}, errors.New("the supervisor closed the connection without an answer")
	}
	var resp Response
	if err := json.Unmarshal(scanner.Bytes(), &resp); err != nil {
		return Response{}, err
	}
	if !resp.OK {
		return resp, fmt.Errorf("supervisor: %s", resp.Error)
	}
	return resp, nil
}

// Status returns every unit the daemon knows.
func (c Client) Status(ctx context.Context) ([]UnitStatus, error) {
	resp, err := c.Do(ctx, Request{Op: OpStatus})
	return resp.Units, err
}

// Start asks the daemon to start a unit (it returns once the unit is spawned).
func (c Client) Start(ctx context.Context, u Unit) error {
	_, err := c.Do(ctx, Request{Op: OpStart, Unit: &u})
	return err
}

// Stop asks the daemon to stop a unit, and forget it with remove.
func (c Client) Stop(ctx context.Context, name string, remove bool) error {
	_, err := c.Do(ctx, Request{Op: OpStop, Name: name, Remove: remove})
	return err
}

// Restart restarts a unit, with a new definition if u is not nil.
func (c Client) Restart(ctx context.Context, name string, u *Unit) error {
	_, err := c.Do(ctx, Request{Op: OpRestart, Name: name, Unit: u})
	return err
}

// Shutdown stops every unit and ends the daemon.
func (c Client) Shutdown(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Op: OpShutdown})
	return err
}

// Running says whether a daemon answers within a second.
func (c Client) Running() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.Status(ctx)
	return err == nil
}
