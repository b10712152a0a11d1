package provider

import (
	"context"
	"sync"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/requestctx"
)

// factsCache shares one read of a runtime between every resource on it
// during a refresh: the first Read asks the host, concurrent and later ones
// get the same answer. A refresh of a host reads every runtime on it in the
// same round trip (prefetchHost), so that a fleet of a thousand runtimes
// costs one remote command per host, not one per runtime. Anything that
// writes to the runtime forgets it.
type factsCache struct {
	mu      sync.Mutex
	entries map[string]*factsEntry
	hosts   map[string]*hostRead // a host's read of all its runtimes
	// forgotten counts calls of forget, and forgottenAt says when each key
	// was last forgotten, so that a host's read that started before a
	// write does not bring back what the write made stale.
	forgotten   uint64
	forgottenAt map[string]uint64
}

type factsEntry struct {
	done  chan struct{}
	facts nixos.RuntimeFacts
	err   error
}

type hostRead struct {
	done    chan struct{}
	started uint64
}

// runtimesLoader reads every runtime of a host, by name.
type runtimesLoader func(context.Context) (map[string]nixos.RuntimeFacts, error)

// get returns the facts of the runtime key (host "/" name), from a read
// in flight or done, the host's read of all its runtimes, or load.
func (c *factsCache) get(ctx context.Context, host, key string, load func(context.Context) (nixos.RuntimeFacts, error)) (nixos.RuntimeFacts, error) {
	if err := c.awaitHost(ctx, host); err != nil {
		return nixos.RuntimeFacts{}, err
	}
	c.mu.Lock()
	c.init()
	e, ok := c.entries[key]
	if !ok {
		e = &factsEntry{done: make(chan struct{})}
		c.entries[key] = e
		go c.fill(requestctx.Outlive(ctx), key, e, load)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.facts, e.err
	case <-ctx.Done():
		return nixos.RuntimeFacts{}, ctx.Err()
	}
}

// awaitHost waits for the host's read of all its runtimes, when one runs.
func (c *factsCache) awaitHost(ctx context.Context, host string) error {
	c.mu.Lock()
	h := c.hosts[host]
	c.mu.Unlock()
	if h == nil {
		return nil
	}
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prefetchHost reads every runtime of host once, in the background, and
// keeps each runtime's facts for get. Runtimes read or written meanwhile
// keep their own. A failed read keeps nothing: each runtime is then read
// on its own, with its own error.
func (c *factsCache) prefetchHost(ctx context.Context, host string, load runtimesLoader) {
	c.mu.Lock()
	c.init()
	if _, ok := c.hosts[host]; ok {
		c.mu.Unlock()
		return
	}
	h := &hostRead{done: make(chan struct{}), started: c.forgotten}
	c.hosts[host] = h
	c.mu.Unlock()
	go func() {
		defer close(h.done)
		all, err := load(requestctx.Outlive(ctx))
		if err != nil {
			return
		}
		c.keep(host, h.started, all)
	}()
}

// keep stores a host's read of its runtimes, except for runtimes that have
// an entry of their own or were forgotten since the read started.
func (c *factsCache) keep(host string, started uint64, all map[string]nixos.RuntimeFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, facts := range all {
		key := host + "/" + name
		if _, ok := c.entries[key]; ok || c.forgottenAt[key] > started {
			continue
		}
		e := &factsEntry{done: make(chan struct{}), facts: facts}
		close(e.done)
		c.entries[key] = e
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
	c.init()
	delete(c.entries, key)
	c.forgotten++
	c.forgottenAt[key] = c.forgotten
}

func (c *factsCache) init() {
	if c.entries == nil {
		c.entries, c.hosts, c.forgottenAt = map[string]*factsEntry{}, map[string]*hostRead{}, map[string]uint64{}
	}
}
