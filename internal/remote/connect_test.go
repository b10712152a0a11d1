package remote

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// newTestPool returns a pool authenticating with the fake server's client
// key, closed when the test ends.
func newTestPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	if cfg.Auth == nil {
		cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(keys().client)}
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	p := NewPool(cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustOutput runs args on c and fails the test unless it succeeds.
func mustOutput(t *testing.T, c *Client, args ...string) string {
	t.Helper()
	out, err := c.Output(testContext(t), args...)
	if err != nil {
		t.Fatalf("Output(%q): %v", args, err)
	}
	return string(out)
}

func TestConnectWithOnePinnedKeyOfSeveral(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t) // offers both ed25519 and RSA host keys
	for name, pinned := range map[string]ssh.PublicKey{
		"ed25519": keys().hostEd25519.PublicKey(),
		"rsa":     keys().hostRSA.PublicKey(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := newTestPool(t, Config{}).Client(testContext(t), s.endpoint(pinned))
			if err != nil {
				t.Fatalf("connecting with only the %s key pinned: %v", name, err)
			}
			if out := mustOutput(t, c, "echo", "hello"); out != "hello\n" {
				t.Fatalf("echo printed %q", out)
			}
		})
	}
}

func TestHostKeyMismatchAbortsBeforeAuth(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	wrong := keys().stranger.PublicKey()
	_, err := newTestPool(t, Config{}).Client(testContext(t), s.endpoint(wrong))

	var mismatch *HostKeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("err = %v (%T), want *HostKeyMismatchError", err, err)
	}
	presented := Fingerprint(keys().hostEd25519.PublicKey())
	if mismatch.Presented != presented || len(mismatch.Pinned) != 1 || mismatch.Pinned[0] != Fingerprint(wrong) {
		t.Errorf("mismatch = %+v, want presented %s and pinned %s", mismatch, presented, Fingerprint(wrong))
	}
	for _, want := range []string{presented, Fingerprint(wrong), s.hostPort} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if n := s.authCalls.Load(); n != 0 {
		t.Errorf("server saw %d authentication attempts; want none after a host key mismatch", n)
	}
	if IsTransient(err) {
		t.Error("a host key mismatch must not be transient")
	}
}

func TestKnownHostsFileWhenNothingPinned(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	for name, listed := range map[string]ssh.PublicKey{
		"ed25519": keys().hostEd25519.PublicKey(),
		"rsa":     keys().hostRSA.PublicKey(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := writeKnownHosts(t, s.hostPort, listed)
			c, err := newTestPool(t, Config{KnownHostsFiles: []string{file}}).Client(testContext(t), s.endpoint())
			if err != nil {
				t.Fatalf("connecting with the %s key in known_hosts: %v", name, err)
			}
			mustOutput(t, c, "true")
		})
	}
}

func TestNoHostKeyFailsWithoutDialling(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	file := writeKnownHosts(t, "127.0.0.1:1", keys().hostEd25519.PublicKey()) // another host
	p := newTestPool(t, Config{KnownHostsFiles: []string{file}})
	_, err := p.Client(testContext(t), s.endpoint())

	var noKey *NoHostKeyError
	if !errors.As(err, &noKey) || noKey.HostPort != s.hostPort || !strings.Contains(err.Error(), s.hostPort) {
		t.Fatalf("err = %v, want *NoHostKeyError for %s", err, s.hostPort)
	}
	if s.accepts.Load() != 0 || p.Stats().Dials != 0 {
		t.Errorf("accepts = %d, dials = %d; want no connection at all", s.accepts.Load(), p.Stats().Dials)
	}
}

func TestClosedPortIsUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	e := Endpoint{Address: "127.0.0.1", Port: port, User: "tester", HostKeys: []ssh.PublicKey{keys().hostEd25519.PublicKey()}}

	start := time.Now()
	_, err = newTestPool(t, Config{ConnectTimeout: 5 * time.Second}).Client(testContext(t), e)
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) || !strings.Contains(err.Error(), e.HostPort()) {
		t.Fatalf("err = %v, want *UnreachableError naming %s", err, e.HostPort())
	}
	if !IsTransient(err) {
		t.Error("an unreachable host must be transient")
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("took %s to report a closed port", elapsed)
	}
}

func TestSilentListenerTimesOut(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() { // accept and never speak
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	e := Endpoint{Address: "127.0.0.1", Port: port, User: "tester", HostKeys: []ssh.PublicKey{keys().hostEd25519.PublicKey()}}

	start := time.Now()
	_, err = newTestPool(t, Config{ConnectTimeout: time.Second}).Client(testContext(t), e)
	elapsed := time.Since(start)
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) || !strings.Contains(err.Error(), e.HostPort()) {
		t.Fatalf("err = %v, want *UnreachableError naming %s", err, e.HostPort())
	}
	if elapsed > 4*time.Second {
		t.Errorf("took %s with a 1s connect timeout", elapsed)
	}
}

func TestWrongClientKeyFailsFast(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	p := newTestPool(t, Config{Auth: []ssh.AuthMethod{ssh.PublicKeys(keys().stranger)}})
	_, err := p.Client(testContext(t), s.endpoint(keys().hostEd25519.PublicKey()))

	var authErr *AuthError
	if !errors.As(err, &authErr) || authErr.User != "tester" || !strings.Contains(err.Error(), s.hostPort) {
		t.Fatalf("err = %v (%T), want *AuthError for tester at %s", err, err, s.hostPort)
	}
	if IsTransient(err) {
		t.Error("an authentication failure must not be transient")
	}
}

func TestConcurrentCallersShareOneConnection(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	const maxSessions, callers = 4, 20
	p := newTestPool(t, Config{MaxSessions: maxSessions})
	e := s.endpoint(keys().hostEd25519.PublicKey())

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			c, err := p.Client(testContext(t), e)
			if err == nil {
				_, err = c.Output(testContext(t), "sh", "-c", "sleep 0.2; echo ok")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Stats(); st.Dials != 1 || st.Commands != callers {
		t.Errorf("stats = %+v, want 1 dial and %d commands", st, callers)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
	if n := s.maxRunning.Load(); n > maxSessions || n < 2 {
		t.Errorf("server saw at most %d commands at once, want between 2 and %d", n, maxSessions)
	}
}

func TestReconnectAfterServerDropsConnection(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	p := newTestPool(t, Config{})
	e := s.endpoint(keys().hostEd25519.PublicKey())
	first, err := p.Client(testContext(t), e)
	if err != nil {
		t.Fatal(err)
	}
	mustOutput(t, first, "true")

	s.dropConnections()
	select {
	case <-first.dead:
	case <-time.After(10 * time.Second):
		t.Fatal("client did not notice the dropped connection")
	}
	if _, err := first.Output(testContext(t), "true"); !IsTransient(err) {
		t.Errorf("command on the dead client: err = %v, want a transient *ConnectionLostError", err)
	}

	second, err := p.Client(testContext(t), e)
	if err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	if second == first {
		t.Fatal("pool returned the dead client")
	}
	mustOutput(t, second, "true")
	if d := p.Stats().Dials; d != 2 {
		t.Errorf("dials = %d, want 2", d)
	}
}

func TestPoolCloseFailsLaterCalls(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	p := newTestPool(t, Config{})
	e := s.endpoint(keys().hostEd25519.PublicKey())
	c, err := p.Client(testContext(t), e)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := c.Output(testContext(t), "true"); err == nil {
		t.Error("command on a closed pool's client succeeded")
	}
	if _, err := p.Client(testContext(t), e); err == nil {
		t.Error("Client on a closed pool succeeded")
	}
}
