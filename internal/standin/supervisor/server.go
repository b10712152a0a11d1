package supervisor

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"sync"
)

// Server answers the control protocol for a Supervisor.
type Server struct {
	sup      *Supervisor
	shutdown chan struct{} // closed when a client asked for shutdown
	once     sync.Once
}

// NewServer serves sup.
func NewServer(sup *Supervisor) *Server {
	return &Server{sup: sup, shutdown: make(chan struct{})}
}

// ShutdownRequested is closed once a client has asked the daemon to exit
// (after every unit has been stopped).
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdown }

// Serve answers connections until the listener is closed.
func (s *Server) Serve(l net.Listener) error {
	for {
		conn, err := l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		go s.serveConn(conn)
	}
}

func (s *Server) serveConn(conn net.Conn) {
	defer conn.Close()
	scanner := bufio.NewScanner(conn)
	scanner.Buffer(make([]byte, 64<<10), maxRequestSize)
	enc := json.NewEncoder(conn)
	for scanner.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			resp = Response{Error: "malformed request: " + err.Error()}
		} else {
			resp = s.handle(req)
		}
		err := enc.Encode(resp)
		if req.Op == OpShutdown && resp.OK {
			// Only now: the daemon exits once this is closed.
			s.once.Do(func() { close(s.shutdown) })
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) handle(req Request) Response {
	var err error
	switch req.Op {
	case OpStatus:
		return Response{OK: true, Units: s.sup.Status()}
	case OpStart:
		if req.Unit == nil {
			return Response{Error: "start needs a unit"}
		}
		err = s.sup.Start(*req.Unit)
	case OpStop:
		err = s.sup.Stop(req.Name, req.Remove)
	case OpRestart:
		name := req.Name
		if name == "" && req.Unit != nil {
			name = req.Unit.Name
		}
		err = s.sup.Restart(name, req.Unit)
	case OpShutdown:
		s.sup.Shutdown()
	default:
		return Response{Error: "unknown operation " + req.Op}
	}
	if err != nil {
		return Response{Error: err.Error()}
	}
	return Response{OK: true}
}
