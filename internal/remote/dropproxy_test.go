package remote

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// dropProxy forwards TCP between a client and a server until told to drop:
// from then on it reads and discards everything in both directions while
// keeping both sockets open, like a network that silently loses packets.
type dropProxy struct {
	ln       net.Listener
	port     int
	target   string
	dropping atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
}

func startDropProxy(t testing.TB, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *dropProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		go p.forward(up, down)
		go p.forward(down, up)
	}
}

func (p *dropProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			dst.Close()
			return
		}
		if p.dropping.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			src.Close()
			return
		}
	}
}

// drop starts discarding all traffic.
func (p *dropProxy) drop() { p.dropping.Store(true) }

func (p *dropProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
