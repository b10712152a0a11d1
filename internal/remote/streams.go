package remote

import (
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// tailBuffer keeps the last max bytes written to it: enough of a command's
// standard error to explain a failure, whatever the command prints.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:]
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// lastLines returns up to n final lines, as valid UTF-8 for messages.
func (t *tailBuffer) lastLines(n int) string {
	text := strings.TrimRight(strings.ToValidUTF8(string(t.buf), "\uFFFD"), "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// multiWriter is io.MultiWriter that skips a nil writer.
func multiWriter(w io.Writer, tail io.Writer) io.Writer {
	if w == nil {
		return tail
	}
	return io.MultiWriter(w, tail)
}

var errStreamClosed = errors.New("remote: command already returned")

// gatedWriter stops writes to a caller's writer once Run has returned
// (a killed session's copy goroutine may still be draining).
type gatedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func newGatedWriter(w io.Writer) *gatedWriter {
	if w == nil {
		w = io.Discard
	}
	return &gatedWriter{w: w}
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errStreamClosed
	}
	return g.w.Write(p)
}

// close waits for a write in progress, then refuses the next ones.
func (g *gatedWriter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// gatedReader stops reading a caller's stdin once Run has returned. A Read
// already blocked in the caller's reader cannot be interrupted; it is simply
// the last one.
type gatedReader struct {
	r      io.Reader
	closed atomic.Bool
}

// newGatedReader returns nil for a nil reader, so that the session sends EOF
// at once.
func newGatedReader(r io.Reader) *gatedReader {
	if r == nil {
		return nil
	}
	return &gatedReader{r: r}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.closed.Load() {
		return 0, io.EOF
	}
	return g.r.Read(p)
}

func (g *gatedReader) close() {
	if g != nil {
		g.closed.Store(true)
	}
}
