package remote

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// connectedClient starts a fake server and returns a client connected to it.
func connectedClient(t *testing.T, cfg Config) (*fakeServer, *Pool, *Client) {
	t.Helper()
	s := startFakeServer(t)
	p := newTestPool(t, cfg)
	c, err := p.Client(testContext(t), s.endpoint(keys().hostEd25519.PublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	return s, p, c
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandErrorCarriesStderrTail(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{})
	script := `i=1; while [ $i -le 100 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 3`
	var fullStderr bytes.Buffer
	err := c.Run(testContext(t), Cmd{Args: []string{"sh", "-c", script}, Stderr: &fullStderr})

	var cmdErr *CommandError
	if !errors.As(err, &cmdErr) {
		t.Fatalf("err = %v (%T), want *CommandError", err, err)
	}
	lines := strings.Split(cmdErr.Stderr, "\n")
	if cmdErr.ExitStatus != 3 || len(lines) != stderrTailLines || lines[0] != "line 81" || lines[len(lines)-1] != "line 100" {
		t.Errorf("status %d, stderr tail %q; want status 3 and lines 81..100", cmdErr.ExitStatus, cmdErr.Stderr)
	}
	if !strings.HasPrefix(cmdErr.Command, "'sh' '-c' ") || cmdErr.HostPort != s.hostPort {
		t.Errorf("command %q on %q", cmdErr.Command, cmdErr.HostPort)
	}
	if strings.Count(fullStderr.String(), "\n") != 100 {
		t.Errorf("caller's stderr writer got %d lines, want all 100", strings.Count(fullStderr.String(), "\n"))
	}
	if !strings.Contains(err.Error(), "status 3") || !strings.Contains(err.Error(), s.hostPort) || IsTransient(err) {
		t.Errorf("error %q: want the status and host, not transient", err)
	}
}

func TestCommandTimeoutKillsRemoteProcess(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{})
	start := time.Now()
	err := c.Run(testContext(t), Cmd{Args: []string{"sleep", "30"}, Timeout: 500 * time.Millisecond})

	var timeout *TimeoutError
	if !errors.As(err, &timeout) || timeout.Timeout != 500*time.Millisecond || timeout.HostPort != s.hostPort {
		t.Fatalf("err = %v (%T), want *TimeoutError after 500ms on %s", err, err, s.hostPort)
	}
	if !strings.Contains(timeout.Command, "sleep") {
		t.Errorf("command %q does not name the command", timeout.Command)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("timeout of 500ms took %s", elapsed)
	}
	eventually(t, "the remote sleep is killed", func() bool { return s.running.Load() == 0 })
	if s.killSigs.Load() == 0 {
		t.Error("no signal request reached the server")
	}
}

func TestCancelledContextKillsRemoteProcess(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{})
	ctx, cancel := context.WithCancel(testContext(t))
	go func() {
		eventually(t, "the command starts", func() bool { return s.execs.Load() == 1 })
		cancel()
	}()
	err := c.Run(ctx, Cmd{Args: []string{"sleep", "30"}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), s.hostPort) {
		t.Fatalf("err = %v, want context.Canceled naming %s", err, s.hostPort)
	}
	eventually(t, "the remote sleep is killed", func() bool { return s.running.Load() == 0 })
}

func TestSilentDropFailsWithinKeepaliveBudget(t *testing.T) {
	t.Parallel()
	s := startFakeServer(t)
	proxy := startDropProxy(t, s.hostPort)
	p := newTestPool(t, Config{KeepaliveInterval: 200 * time.Millisecond, KeepaliveCountMax: 3})
	e := Endpoint{Address: "127.0.0.1", Port: proxy.port, User: "tester", HostKeys: []ssh.PublicKey{keys().hostEd25519.PublicKey()}}
	c, err := p.Client(testContext(t), e)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(testContext(t), Cmd{Args: []string{"sleep", "30"}}) }()
	eventually(t, "the command starts", func() bool { return s.execs.Load() == 1 })

	proxy.drop()
	start := time.Now()
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("command hung after packets stopped flowing")
	}
	var lost *ConnectionLostError
	if !errors.As(err, &lost) || lost.HostPort != e.HostPort() || !IsTransient(err) {
		t.Fatalf("err = %v (%T), want a transient *ConnectionLostError for %s", err, err, e.HostPort())
	}
	// Budget: 3 missed replies at 200ms, about 0.8s; allow a loaded machine.
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("detected the drop after %s", elapsed)
	}
}

func TestKeepalivesKeepHealthyConnectionAlive(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{KeepaliveInterval: 50 * time.Millisecond, KeepaliveCountMax: 2})
	mustOutput(t, c, "sleep", "0.6")
	if n := s.keepalives.Load(); n < 3 {
		t.Errorf("server saw %d keepalives in 0.6s at a 50ms interval", n)
	}
	if !c.alive() {
		t.Error("a connection that answers keepalives was declared lost")
	}
}

func TestWaitingForASessionHonoursContext(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{MaxSessions: 1})
	busyCtx, stopBusy := context.WithCancel(testContext(t))
	defer stopBusy()
	go func() { _ = c.Run(busyCtx, Cmd{Args: []string{"sleep", "30"}}) }()
	eventually(t, "the first command starts", func() bool { return s.execs.Load() == 1 })

	ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
	defer cancel()
	_, err := c.Output(ctx, "true")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline while all sessions are busy", err)
	}
	if n := s.execs.Load(); n != 1 {
		t.Errorf("server ran %d commands; the second must not start", n)
	}
}

func TestStreamingStdinAndStdout(t *testing.T) {
	t.Parallel()
	_, _, c := connectedClient(t, Config{})
	stdinR, stdinW := io.Pipe()
	stdoutR, stdoutW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- c.Run(testContext(t), Cmd{Args: []string{"cat"}, Stdin: stdinR, Stdout: stdoutW})
		stdoutW.Close()
	}()
	echoed := bufio.NewReader(stdoutR)
	for i := range 3 { // each line comes back before stdin ends: nothing is buffered to the end
		line := fmt.Sprintf("line %d\n", i)
		if _, err := io.WriteString(stdinW, line); err != nil {
			t.Fatal(err)
		}
		if got, err := echoed.ReadString('\n'); err != nil || got != line {
			t.Fatalf("read back %q, %v; want %q", got, err, line)
		}
	}
	stdinW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestUnreadStdinIsNotAnError(t *testing.T) {
	t.Parallel()
	_, _, c := connectedClient(t, Config{})
	err := c.Run(testContext(t), Cmd{Args: []string{"true"}, Stdin: bytes.NewReader(make([]byte, 4<<20))})
	if err != nil {
		t.Fatalf("a command that ignores its stdin failed: %v", err)
	}
}

func TestHostileArgumentsArriveIntact(t *testing.T) {
	t.Parallel()
	s, p, c := connectedClient(t, Config{})
	hostile := []string{`it's`, `"$(touch /tmp/pwned)"`, "`id`", "${HOME}", "a\nb", "*", "-n", "", "\xff"}
	out, err := c.Output(testContext(t), append([]string{"printf", `%s\0`}, hostile...)...)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(hostile, "\x00") + "\x00"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}

	before := p.Stats().Commands
	if err := c.Run(testContext(t), Cmd{Args: []string{"echo", "a\x00b"}}); err == nil {
		t.Fatal("an argument with a NUL byte was accepted")
	}
	if p.Stats().Commands != before || s.execs.Load() != 1 {
		t.Error("a command with a NUL byte reached the server")
	}
}

// OpenSSH often refuses "signal" requests; a timed-out command and the
// children it started must die all the same.
func TestCommandTimeoutKillsProcessGroupWhenSignalsAreRefused(t *testing.T) {
	t.Parallel()
	s, _, c := connectedClient(t, Config{})
	s.ignoreSignals.Store(true)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	err := c.Run(testContext(t), Cmd{
		Args:    []string{"sh", "-c", `sleep 30 & echo $! > "$1"; wait`, "sh", pidFile},
		Timeout: 500 * time.Millisecond,
	})
	var timeout *TimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("err = %v, want *TimeoutError", err)
	}
	content, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(string(content)))
	eventually(t, "the command's child is killed", func() bool {
		return child > 0 && syscall.Kill(child, 0) != nil
	})
	eventually(t, "the command is killed", func() bool { return s.running.Load() == 0 })
}

func TestPIDLineIsTakenOffStandardError(t *testing.T) {
	var rest bytes.Buffer
	p := &pidCapture{next: &rest}
	for _, chunk := range []string{"fediversity-re", "mote-pid:4242\nfirst", " line\n"} {
		if n, err := p.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if p.pid() != 4242 || rest.String() != "first line\n" {
		t.Fatalf("pid %d, rest %q", p.pid(), rest.String())
	}

	rest.Reset()
	p = &pidCapture{next: &rest}
	_, _ = p.Write([]byte("no marker here\n"))
	if p.pid() != 0 || rest.String() != "no marker here\n" {
		t.Fatalf("unmarked stderr: pid %d, rest %q", p.pid(), rest.String())
	}
}

// HTTP reaches a service that listens only on the host, through the SSH
// connection itself.
func TestDialContextReachesServicesOnTheHost(t *testing.T) {
	t.Parallel()
	_, pool, c := connectedClient(t, Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.Host)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })

	client := &http.Client{Transport: &http.Transport{DialContext: c.DialContext}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+l.Addr().String()+"/", nil)
	req.Host = "social.example.org"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello social.example.org" {
		t.Fatalf("body %q", body)
	}
	if pool.Stats().Dials != 1 {
		t.Errorf("tunnelled HTTP opened %d SSH connections, want the one", pool.Stats().Dials)
	}
}
