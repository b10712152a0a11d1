package acctest

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// Proxy stands between the provider and a sandbox host on a loopback port,
// so a test can make the host unreachable (a reboot) or silently drop every
// packet of open connections (a broken network) without touching the host.
type Proxy struct {
	target   string
	listener net.Listener

	mu      sync.Mutex
	mode    proxyMode
	conns   []net.Conn
	stalled chan struct{} // closed while packets flow; replaced on Stall
}

type proxyMode int

const (
	forwarding proxyMode = iota
	refusing             // new connections are closed at once, open ones reset
	stalling             // connections stay open but no byte gets through
)

// NewProxy listens on 127.0.0.1 and forwards to target until the test ends.
func NewProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{target: target, listener: l, stalled: make(chan struct{})}
	close(p.stalled)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Port is the loopback port the provider should connect to.
func (p *Proxy) Port() int {
	return p.listener.Addr().(*net.TCPAddr).Port
}

// PortString is Port as HCL wants it.
func (p *Proxy) PortString() string { return strconv.Itoa(p.Port()) }

// Forward lets traffic through again.
func (p *Proxy) Forward() { p.setMode(forwarding) }

// Refuse makes the host look down: open connections are cut, new ones closed.
func (p *Proxy) Refuse() { p.setMode(refusing) }

// Stall keeps every connection open but stops all bytes in both directions.
func (p *Proxy) Stall() { p.setMode(stalling) }

func (p *Proxy) setMode(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m == stalling && p.mode != stalling {
		p.stalled = make(chan struct{})
	}
	if m != stalling && p.mode == stalling {
		close(p.stalled)
	}
	p.mode = m
	if m == refusing {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func (p *Proxy) serve() {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		go p.handle(client)
	}
}

func (p *Proxy) handle(client net.Conn) {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	if mode == refusing {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, server)
	go p.pipe(server, client)
	p.pipe(client, server)
}

func (p *Proxy) track(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, conns...)
}

// pipe copies in small chunks and waits before each write while stalled,
// so stalling takes effect in the middle of a command.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.waitWhileStalled()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) waitWhileStalled() {
	p.mu.Lock()
	ch := p.stalled
	p.mu.Unlock()
	<-ch
}

func (p *Proxy) close() {
	p.listener.Close()
	p.setMode(refusing)
	p.Forward() // release any goroutine waiting while stalled
}
