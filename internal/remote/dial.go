package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"
)

// connect opens and authenticates one connection. Host keys are settled
// before any packet is sent: without a key to check against there is no dial.
func (p *Pool) connect(ctx context.Context, e Endpoint) (*Client, error) {
	hostPort := e.HostPort()
	keys, err := p.trustedKeys(e)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()

	fields := map[string]any{"host": hostPort, "user": e.User, "host_keys": fingerprints(keys)}
	tflog.Debug(ctx, "SSH dialing", fields)
	start := time.Now()
	p.dials.Add(1)
	tcp, err := (&net.Dialer{Timeout: p.cfg.ConnectTimeout}).DialContext(ctx, "tcp", hostPort)
	if err != nil {
		tflog.Debug(ctx, "SSH dial failed", map[string]any{"host": hostPort, "error": err.Error()})
		return nil, &UnreachableError{HostPort: hostPort, Err: err}
	}
	conn, err := handshake(ctx, tcp, hostPort, e.User, keys, p.cfg)
	if err != nil {
		tcp.Close()
		tflog.Debug(ctx, "SSH handshake failed", map[string]any{"host": hostPort, "error": err.Error()})
		return nil, err
	}
	tflog.Debug(ctx, "SSH connected", map[string]any{"host": hostPort, "duration": time.Since(start).String()})
	return newClient(context.WithoutCancel(ctx), conn, hostPort, p.cfg, &p.commands), nil
}

// trustedKeys returns the pinned keys, or the known_hosts keys when none are
// pinned, or a *NoHostKeyError.
func (p *Pool) trustedKeys(e Endpoint) ([]ssh.PublicKey, error) {
	if len(e.HostKeys) > 0 {
		return e.HostKeys, nil
	}
	keys, err := KnownHostKeys(p.cfg.KnownHostsFiles, e.HostPort())
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, &NoHostKeyError{HostPort: e.HostPort()}
	}
	return keys, nil
}

// handshake runs the SSH handshake under the dial's deadline, so that a
// listener that accepts TCP but never speaks SSH fails within ConnectTimeout.
func handshake(ctx context.Context, tcp net.Conn, hostPort, user string, keys []ssh.PublicKey, cfg Config) (*ssh.Client, error) {
	if deadline, ok := ctx.Deadline(); ok {
		if err := tcp.SetDeadline(deadline); err != nil {
			return nil, &UnreachableError{HostPort: hostPort, Err: err}
		}
	}
	var keyVerified atomic.Bool
	var mismatch atomic.Pointer[HostKeyMismatchError]
	verify := pinnedHostKeyCallback(hostPort, keys)
	config := &ssh.ClientConfig{
		User: user,
		Auth: cfg.Auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := verify(hostname, remote, key)
			if m := (*HostKeyMismatchError)(nil); errors.As(err, &m) {
				mismatch.Store(m)
			}
			keyVerified.Store(err == nil)
			return err
		},
		HostKeyAlgorithms: HostKeyAlgorithms(keys),
	}
	conn, chans, reqs, err := ssh.NewClientConn(tcp, hostPort, config)
	switch {
	case mismatch.Load() != nil:
		return nil, mismatch.Load()
	case err != nil && keyVerified.Load() && isAuthFailure(err):
		return nil, &AuthError{HostPort: hostPort, User: user, Err: err}
	case err != nil:
		return nil, &UnreachableError{HostPort: hostPort, Err: fmt.Errorf("SSH handshake: %w", err)}
	}
	if err := tcp.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, &UnreachableError{HostPort: hostPort, Err: err}
	}
	return ssh.NewClient(conn, chans, reqs), nil
}

// isAuthFailure recognises x/crypto/ssh's untyped "no method left" error and
// sshd's disconnect after too many attempts (MaxAuthTries).
func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") ||
		strings.Contains(msg, "Too many authentication failures")
}
