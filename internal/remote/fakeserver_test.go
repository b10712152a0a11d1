package remote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testKeys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	hostEd25519, hostRSA ssh.Signer // the fake server's host keys
	client, stranger     ssh.Signer // an authorized and an unknown client key
}

var (
	keysOnce   sync.Once
	sharedKeys testKeys
)

func keys() testKeys {
	keysOnce.Do(func() {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sharedKeys = testKeys{
			hostEd25519: ed25519Signer(),
			hostRSA:     must(ssh.NewSignerFromKey(rsaKey)),
			client:      ed25519Signer(),
			stranger:    ed25519Signer(),
		}
	})
	return sharedKeys
}

func ed25519Signer() ssh.Signer {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return must(ssh.NewSignerFromKey(priv))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// fakeServer is an in-process sshd on 127.0.0.1: ed25519 and RSA host keys,
// public-key auth, "exec" run by /bin/sh -c, exit-status and exit-signal
// replies, "signal" requests that kill the command's process group, and
// keepalive@openssh.com answered with a failure reply as OpenSSH does.
type fakeServer struct {
	ln       net.Listener
	port     int
	hostPort string
	config   *ssh.ServerConfig

	accepts    atomic.Int64 // TCP connections accepted
	authCalls  atomic.Int64 // public-key callback invocations
	execs      atomic.Int64 // commands started
	keepalives atomic.Int64
	killSigs   atomic.Int64 // "signal" requests received
	// ignoreSignals makes "signal" requests do nothing, as OpenSSH does in
	// many set-ups ("session signalling requires privilege separation").
	ignoreSignals atomic.Bool
	running       atomic.Int64 // commands running now
	maxRunning    atomic.Int64 // most commands running at once

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	procs  map[*exec.Cmd]struct{}
	closed bool
}

func startFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	k := keys()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{
		ln:       ln,
		port:     ln.Addr().(*net.TCPAddr).Port,
		hostPort: ln.Addr().String(),
		conns:    map[net.Conn]struct{}{},
		procs:    map[*exec.Cmd]struct{}{},
	}
	s.config = &ssh.ServerConfig{PublicKeyCallback: s.checkClientKey}
	s.config.AddHostKey(k.hostEd25519)
	s.config.AddHostKey(k.hostRSA)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) checkClientKey(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	s.authCalls.Add(1)
	if bytes.Equal(key.Marshal(), keys().client.PublicKey().Marshal()) {
		return &ssh.Permissions{}, nil
	}
	return nil, errors.New("unknown client key")
}

func (s *fakeServer) serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepts.Add(1)
		if !s.track(nc) {
			nc.Close()
			return
		}
		go s.handleConn(nc)
	}
}

func (s *fakeServer) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *fakeServer) handleConn(nc net.Conn) {
	_, chans, reqs, err := ssh.NewServerConn(nc, s.config)
	if err != nil {
		nc.Close()
		return
	}
	go s.globalRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() == "direct-tcpip" {
			go s.forward(nch)
			continue
		}
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only sessions and direct-tcpip")
			continue
		}
		ch, chReqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go s.session(ch, chReqs)
	}
}

// forward serves a direct-tcpip channel as sshd does: it connects to the
// requested address and copies both ways.
func (s *fakeServer) forward(nch ssh.NewChannel) {
	var target struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &target); err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(target.Host, fmt.Sprint(target.Port)))
	if err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	go func() {
		_, _ = io.Copy(ch, conn)
		ch.Close()
	}()
	_, _ = io.Copy(conn, ch)
	conn.Close()
}

func (s *fakeServer) globalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.Type == "keepalive@openssh.com" {
			s.keepalives.Add(1)
		}
		if req.WantReply {
			_ = req.Reply(false, nil)
		}
	}
}

func (s *fakeServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	var proc *exec.Cmd
	for req := range reqs {
		switch req.Type {
		case "exec":
			var msg struct{ Command string }
			if proc != nil || ssh.Unmarshal(req.Payload, &msg) != nil {
				_ = req.Reply(false, nil)
				continue
			}
			proc = s.start(ch, msg.Command)
			if proc == nil {
				_ = req.Reply(false, nil)
				ch.Close()
				continue
			}
			// Reply before the exit status can be sent, as sshd does.
			_ = req.Reply(true, nil)
			go s.reportExit(proc, ch)
		case "signal":
			var msg struct{ Signal string }
			if ssh.Unmarshal(req.Payload, &msg) == nil && proc != nil {
				s.killSigs.Add(1)
				if sig, ok := signalsByName[msg.Signal]; ok && !s.ignoreSignals.Load() {
					_ = syscall.Kill(-proc.Process.Pid, sig)
				}
			}
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}

func (s *fakeServer) start(ch ssh.Channel, command string) *exec.Cmd {
	proc := exec.Command("/bin/sh", "-c", command)
	proc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	proc.Stdout, proc.Stderr = ch, ch.Stderr()
	stdin, err := proc.StdinPipe()
	if err == nil {
		err = proc.Start()
	}
	if err != nil {
		return nil
	}
	s.execs.Add(1)
	s.noteRunning(s.running.Add(1))
	s.mu.Lock()
	s.procs[proc] = struct{}{}
	s.mu.Unlock()
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	return proc
}

func (s *fakeServer) noteRunning(n int64) {
	for {
		most := s.maxRunning.Load()
		if n <= most || s.maxRunning.CompareAndSwap(most, n) {
			return
		}
	}
}

// reportExit replies as sshd does: exit-signal for a killed command,
// exit-status otherwise, then closes the channel.
func (s *fakeServer) reportExit(proc *exec.Cmd, ch ssh.Channel) {
	_ = proc.Wait()
	s.running.Add(-1)
	s.mu.Lock()
	delete(s.procs, proc)
	s.mu.Unlock()
	ws := proc.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: signalName(ws.Signal())}))
	} else {
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(ws.ExitStatus())}))
	}
	ch.Close()
}

var signalsByName = map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}

func signalName(sig syscall.Signal) string {
	for name, s := range signalsByName {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}

// dropConnections closes every client connection, as a restarting sshd does.
func (s *fakeServer) dropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.conns {
		nc.Close()
		delete(s.conns, nc)
	}
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.dropConnections()
	s.mu.Lock()
	defer s.mu.Unlock()
	for proc := range s.procs {
		_ = syscall.Kill(-proc.Process.Pid, syscall.SIGKILL)
	}
}

// endpoint returns an Endpoint for the server pinned to the given keys.
func (s *fakeServer) endpoint(pinned ...ssh.PublicKey) Endpoint {
	return Endpoint{Address: "127.0.0.1", Port: s.port, User: "tester", HostKeys: pinned}
}
