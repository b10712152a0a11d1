package remote

import (
	"context"
	"fmt"
	"net"
)

// DialContext opens a TCP connection from the host to addr over the SSH
// connection (a direct-tcpip channel), so the provider can talk to services
// that listen only on the host's own addresses, such as an app's health
// endpoint, without tools like curl on the host and without opening ports.
func (c *Client) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if !c.alive() {
		return nil, c.lostError()
	}
	conn, err := c.conn.DialContext(ctx, network, addr)
	if err != nil {
		if !c.alive() {
			return nil, c.lostError()
		}
		return nil, fmt.Errorf("connecting from %s to %s: %w", c.hostPort, addr, err)
	}
	return conn, nil
}
