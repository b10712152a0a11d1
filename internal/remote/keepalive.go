package remote

import (
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// keepalive detects a link that silently drops packets, which TCP alone
// would only notice after many minutes: every KeepaliveInterval it asks the
// server for a reply, and after KeepaliveCountMax unanswered requests in a row
// it closes the connection, failing the commands running on it.
func (c *Client) keepalive() {
	interval, maxMissed := c.cfg.KeepaliveInterval, c.cfg.KeepaliveCountMax
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	missed := 0
	for {
		select {
		case <-c.dead:
			return
		case <-ticker.C:
		}
		if c.ping(interval) {
			missed = 0
			continue
		}
		missed++
		if missed >= maxMissed {
			c.closeWithCause(fmt.Errorf("%d keepalives sent every %s went unanswered", missed, interval))
			return
		}
	}
}

// ping reports whether the server answered within timeout. OpenSSH answers
// keepalive@openssh.com with a failure reply: any reply proves the link works.
func (c *Client) ping(timeout time.Duration) bool {
	replied := make(chan error, 1)
	go func() {
		_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
		replied <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-replied:
		return err == nil
	case <-timer.C:
		return false
	case <-c.dead:
		return false
	}
}

// watch records why the connection ended and wakes everything waiting on it.
func (c *Client) watch() {
	err := c.conn.Wait()
	c.causeOnce.Do(func() {
		if err == nil {
			err = io.EOF
		}
		c.cause = fmt.Errorf("connection closed: %w", err)
	})
	tflog.Debug(c.logCtx, "SSH connection ended", map[string]any{"host": c.hostPort, "cause": c.cause.Error()})
	close(c.dead)
}

// closeWithCause closes the connection, recording why for ConnectionLostError.
func (c *Client) closeWithCause(cause error) {
	c.causeOnce.Do(func() { c.cause = cause })
	_ = c.conn.Close()
}
