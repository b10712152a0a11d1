package provider

import (
	"context"
	"fmt"
	"sync"
)

// buildSlots bounds how many runtimes of one host build and switch at once
// (max_builds_per_host): a fleet applied with a high -parallelism queues
// its builds in the provider instead of running dozens of evaluations side
// by side on one machine, each wanting its own memory. Waiting for a slot
// is waiting in the open batch, so more of the runtime's changes join it.
type buildSlots struct {
	size  int
	mu    sync.Mutex
	hosts map[string]chan struct{}
}

// acquire waits for one of host's slots; release gives it back.
func (s *buildSlots) acquire(ctx context.Context, host string) (release func(), err error) {
	slots := s.of(host)
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for one of host %s's %d build slots (max_builds_per_host): %w", host, cap(slots), context.Cause(ctx))
	}
}

func (s *buildSlots) of(host string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hosts == nil {
		s.hosts = map[string]chan struct{}{}
	}
	slots, ok := s.hosts[host]
	if !ok {
		slots = make(chan struct{}, max(s.size, 1))
		s.hosts[host] = slots
	}
	return slots
}
