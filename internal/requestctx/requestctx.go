// Package requestctx lets a server keep a request's context after the
// request is answered without keeping what the request's context holds:
// terraform-plugin-framework keeps every request's context until the
// provider stops (see internal/server). Work a request starts that
// outlives it takes its context with Outlive.
package requestctx

import (
	"context"
	"sync"
	"time"
)

// requestContext is a request's context until release, and afterwards a
// context that is done and holds no values: what the framework keeps of
// it is then a few words. Work the request started that outlives it takes
// the request's own context with Outlive.
type requestContext struct {
	done     <-chan struct{}
	deadline time.Time
	hasLimit bool

	mu      sync.Mutex
	request context.Context // nil once released
}

// New returns ctx as a context that lets go of it once release is called.
func New(ctx context.Context) (context.Context, func()) {
	deadline, ok := ctx.Deadline()
	c := &requestContext{request: ctx, done: ctx.Done(), deadline: deadline, hasLimit: ok}
	return c, c.release
}

func (c *requestContext) release() {
	c.mu.Lock()
	c.request = nil
	c.mu.Unlock()
}

func (c *requestContext) current() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.request
}

func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, c.hasLimit }

// Done is the request's: canceling it cancels what the framework derived.
func (c *requestContext) Done() <-chan struct{} { return c.done }

func (c *requestContext) Err() error {
	if ctx := c.current(); ctx != nil {
		return ctx.Err()
	}
	return context.Canceled // released: the request was answered
}

func (c *requestContext) Value(key any) any {
	if key == requestContextKey {
		return c
	}
	if ctx := c.current(); ctx != nil {
		return ctx.Value(key)
	}
	return nil
}

type contextKey struct{}

var requestContextKey = contextKey{}

// Outlive returns a context for work that a request starts and that may
// run after the request is answered (a read shared by later requests, a
// connection kept for them): it has the request's values (its loggers)
// for as long as that work holds it, and is never canceled.
func Outlive(ctx context.Context) context.Context {
	if rc, ok := ctx.Value(requestContextKey).(*requestContext); ok {
		if request := rc.current(); request != nil {
			return context.WithoutCancel(request)
		}
	}
	return context.WithoutCancel(ctx)
}
