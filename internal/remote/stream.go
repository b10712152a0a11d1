package remote

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// CountingWriter counts the bytes its writer took; atomically, as the
// count may be read while a session goroutine still writes.
type CountingWriter struct {
	W io.Writer
	n atomic.Int64
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// N is how many bytes went through so far.
func (c *CountingWriter) N() int64 { return c.n.Load() }

// TimeoutUntilDeadline is the Cmd.Timeout of a command that streams as long
// as ctx allows: the time left to ctx's deadline, or fallback when it has
// none (a transfer of years of data takes long).
func TimeoutUntilDeadline(ctx context.Context, fallback time.Duration) time.Duration {
	if deadline, ok := ctx.Deadline(); ok {
		return max(time.Until(deadline), time.Second)
	}
	return fallback
}
