package provider

import (
	"context"
	"sync"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// factsCache shares one read of a runtime between every resource on it
// during a refresh: the first Read asks the host, concurrent and later ones
// get the same answer. Anything that writes to the runtime forgets it.
type factsCache struct {
	mu      sync.Mutex
	entries map[string]*factsEntry
}

type factsEntry struct {
	done  chan struct{}
	facts nixos.RuntimeFacts
	err   error
}

func (c *factsCache) get(ctx context.Context, key string, load func(context.Context) (nixos.RuntimeFacts, error)) (nixos.RuntimeFacts, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*factsEntry{}
	}
	e, ok := c.entries[key]
	if !ok {
		e = &factsEntry{done: make(chan struct{})}
		c.entries[key] = e
		go c.fill(context.WithoutCancel(ctx), key, e, load)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.facts, e.err
	case <-ctx.Done():
		return nixos.RuntimeFacts{}, ctx.Err()
	}
}

func (c *factsCache) fill(ctx context.Context, key string, e *factsEntry, load func(context.Context) (nixos.RuntimeFacts, error)) {
	facts, err := load(ctx)
	if err != nil { // a failed read is not kept: later callers try again
		c.forget(key)
	}
	e.facts, e.err = facts, err
	close(e.done)
}

func (c *factsCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}
