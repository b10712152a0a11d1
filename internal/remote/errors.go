package remote

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HostKeyMismatchError reports that the host presented a key that is not pinned. The
// handshake is aborted before authentication, so nothing was sent to it.
type HostKeyMismatchError struct {
	HostPort  string
	Presented string   // Fingerprint of the key the host presented
	Pinned    []string // Fingerprint of every key we accept
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: the host presented %s but the trusted key(s), pinned or from known_hosts, are %s; "+
		"the address may have been reused or someone may be intercepting the connection. "+
		"Check the host's key out of band (ssh-keyscan on a trusted network, or the host's console) "+
		"and update the pinned key only if the change is expected",
		e.HostPort, e.Presented, strings.Join(e.Pinned, ", "))
}

// NoHostKeyError reports that no key is pinned and no known_hosts file lists the host.
// Returned before dialling: the provider never trusts a key on first use.
type NoHostKeyError struct {
	HostPort string
}

func (e *NoHostKeyError) Error() string {
	return fmt.Sprintf("no host key known for %s: pin the host's public key (for example the output of "+
		"`ssh-keyscan -t ed25519` run on a trusted network, or /etc/ssh/ssh_host_ed25519_key.pub on the host) "+
		"or add the host to a known_hosts file given to the provider", e.HostPort)
}

// UnreachableError reports that the host could not be reached or dropped the connection
// before authentication. It is transient: a rebooting host looks like this.
type UnreachableError struct {
	HostPort string
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s over SSH: %v; check that the host is up, that the address and "+
		"port are right and that sshd is listening and reachable from here", e.HostPort, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// AuthError reports that the host rejected our credentials. Not transient: retrying with
// the same credentials cannot succeed.
type AuthError struct {
	HostPort string
	User     string
	Err      error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("SSH authentication as %q to %s failed: %v; check the private key or agent given "+
		"to the provider and that its public key is authorized for that user on the host",
		e.User, e.HostPort, e.Err)
}

func (e *AuthError) Unwrap() error { return e.Err }

// CommandError reports that a remote command exited with a non-zero status (or was
// killed by a signal, reported as 128+signal like a shell does).
type CommandError struct {
	HostPort   string
	Command    string // quoted command, shortened
	ExitStatus int
	Stderr     string // last lines of the command's standard error
}

func (e *CommandError) Error() string {
	msg := fmt.Sprintf("command on %s exited with status %d: %s", e.HostPort, e.ExitStatus, e.Command)
	if e.Stderr != "" {
		msg += "\nlast lines of its standard error:\n" + e.Stderr
	}
	return msg
}

// TimeoutError reports that a remote command outlived its timeout and was killed.
type TimeoutError struct {
	HostPort string
	Command  string
	Timeout  time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("command on %s did not finish within %s and was killed: %s; "+
		"the host may be overloaded, or the timeout too short for this operation",
		e.HostPort, e.Timeout, e.Command)
}

// ConnectionLostError reports that the connection died while in use (keepalives
// unanswered, or the peer closed it). Transient: the next call reconnects.
type ConnectionLostError struct {
	HostPort string
	Err      error
}

func (e *ConnectionLostError) Error() string {
	return fmt.Sprintf("SSH connection to %s lost: %v; the host may be rebooting or the network "+
		"dropped packets; a retry reconnects", e.HostPort, e.Err)
}

func (e *ConnectionLostError) Unwrap() error { return e.Err }

// IsTransient reports whether err means the host is unreachable or the
// connection was lost, so that a refresh may keep state and a later retry may
// succeed. Host key, authentication and command failures are not transient.
func IsTransient(err error) bool {
	var unreachable *UnreachableError
	var lost *ConnectionLostError
	return errors.As(err, &unreachable) || errors.As(err, &lost)
}
