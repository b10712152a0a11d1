package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

const (
	healthPath = "/.well-known/fediversity/health"
	// shutdownGrace is how long requests in flight may finish after SIGTERM.
	shutdownGrace = 5 * time.Second
	maxJSONBody   = 1 << 20
)

// listen binds host:port (on a sandbox host, "this machine" is the host's
// own address: see package hostaddr), or a unix socket for "unix:/path"
// (replacing a socket left behind by a crash, as nothing else would).
func listen(address string) (net.Listener, error) {
	path, isUnix := strings.CutPrefix(address, "unix:")
	if !isUnix {
		host, err := hostaddr.Local()
		if err != nil {
			return nil, err
		}
		return net.Listen("tcp", host.Resolve(address))
	}
	if info, err := os.Lstat(path); err == nil && info.Mode()&fs.ModeSocket != 0 {
		os.Remove(path)
	}
	return net.Listen("unix", path)
}

func newHTTPServer(handler http.Handler, logger *log.Logger) *http.Server {
	return &http.Server{
		Handler: handler,
		// No read timeout: uploads may take long. Headers may not.
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
}

// serveHTTP serves until ctx is done, then lets requests in flight finish
// for shutdownGrace before cutting them off.
func serveHTTP(ctx context.Context, server *http.Server, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := server.Shutdown(graceCtx); err != nil {
		server.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// requireHost answers 421 Misdirected Request for any other Host than
// domain, as a real virtual host does: a proxy or a DNS record pointing at
// the wrong app must show, not be served by whichever app answers.
func requireHost(domain string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(hostWithoutPort(r.Host), domain) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("this server answers for %s, not %q", domain, r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hostWithoutPort(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // no port given
	}
	return strings.TrimSuffix(strings.Trim(host, "[]"), ".")
}

// logRequests logs one line per request. The path is logged escaped so
// that a name with a newline cannot forge log lines; bodies, headers and
// query strings are never logged.
func logRequests(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		logger.Printf("%s %s %d %dB %v", r.Method, r.URL.EscapedPath(), recorder.status, recorder.written,
			time.Since(start).Round(time.Millisecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status  int
	written int64
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	s.written += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // fails only when the client has gone
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

// readJSON decodes a small JSON request body, answering 400 itself on failure.
func readJSON(w http.ResponseWriter, r *http.Request, into any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(into); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func newLogger(name string, w io.Writer) *log.Logger {
	return log.New(w, name+": ", log.LstdFlags)
}
