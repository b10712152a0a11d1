package provider

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// Every resource on a runtime refreshing at once costs one remote read.
func TestFactsCacheSharesOneRead(t *testing.T) {
	var c factsCache
	var loads atomic.Int32
	load := func(context.Context) (nixos.RuntimeFacts, error) {
		loads.Add(1)
		time.Sleep(50 * time.Millisecond)
		return nixos.RuntimeFacts{System: "/nix/store/x"}, nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f, err := c.get(context.Background(), "h", "h/rt", load); err != nil || f.System != "/nix/store/x" {
				t.Errorf("got %+v, %v", f, err)
			}
		}()
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("%d reads for one runtime, want 1", loads.Load())
	}
	c.forget("h/rt")
	_, _ = c.get(context.Background(), "h", "h/rt", load)
	if loads.Load() != 2 {
		t.Fatal("a write must make the next refresh read again")
	}
}

func TestFactsCacheDoesNotKeepFailures(t *testing.T) {
	var c factsCache
	failing := func(context.Context) (nixos.RuntimeFacts, error) {
		return nixos.RuntimeFacts{}, errors.New("host down")
	}
	if _, err := c.get(context.Background(), "h", "h/rt", failing); err == nil {
		t.Fatal("want the error")
	}
	ok := func(context.Context) (nixos.RuntimeFacts, error) { return nixos.RuntimeFacts{System: "s"}, nil }
	if f, err := c.get(context.Background(), "h", "h/rt", ok); err != nil || f.System != "s" {
		t.Fatalf("a failed read was kept: %+v %v", f, err)
	}
}

// A refresh of a host reads all its runtimes at once: the runtimes'
// refreshes that follow, and those already waiting, ask nothing more.
func TestFactsCachePrefetchServesTheHostsRuntimes(t *testing.T) {
	var c factsCache
	release := make(chan struct{})
	c.prefetchHost(context.Background(), "h", func(context.Context) (map[string]nixos.RuntimeFacts, error) {
		<-release
		return map[string]nixos.RuntimeFacts{"a": {System: "sa"}, "b": {System: "sb"}}, nil
	})
	var own atomic.Int32
	load := func(context.Context) (nixos.RuntimeFacts, error) {
		own.Add(1)
		return nixos.RuntimeFacts{System: "own"}, nil
	}
	got := make(chan string)
	go func() {
		f, _ := c.get(context.Background(), "h", "h/a", load)
		got <- f.System
	}()
	close(release)
	if s := <-got; s != "sa" {
		t.Fatalf("waiting runtime got %q, want the host's read", s)
	}
	if f, _ := c.get(context.Background(), "h", "h/b", load); f.System != "sb" {
		t.Fatalf("later runtime got %q", f.System)
	}
	if f, _ := c.get(context.Background(), "h", "h/gone", load); f.System != "own" || own.Load() != 1 {
		t.Fatalf("a runtime the host did not list is read on its own: %q, %d reads", f.System, own.Load())
	}
}

// What a host's read found must not outlive a write that came after the
// read started, nor replace a runtime's own newer read.
func TestFactsCachePrefetchYieldsToWrites(t *testing.T) {
	var c factsCache
	release := make(chan struct{})
	c.prefetchHost(context.Background(), "h", func(context.Context) (map[string]nixos.RuntimeFacts, error) {
		<-release
		return map[string]nixos.RuntimeFacts{"a": {System: "old"}}, nil
	})
	c.forget("h/a") // a deploy wrote to runtime a while the host's read ran
	close(release)
	load := func(context.Context) (nixos.RuntimeFacts, error) { return nixos.RuntimeFacts{System: "new"}, nil }
	if f, _ := c.get(context.Background(), "h", "h/a", load); f.System != "new" {
		t.Fatalf("got %q: a read from before the write was kept", f.System)
	}
}

// A failed host read leaves each runtime to be read on its own, with its
// own error or answer.
func TestFactsCachePrefetchFailureFallsBack(t *testing.T) {
	var c factsCache
	c.prefetchHost(context.Background(), "h", func(context.Context) (map[string]nixos.RuntimeFacts, error) {
		return nil, errors.New("connection lost")
	})
	load := func(context.Context) (nixos.RuntimeFacts, error) { return nixos.RuntimeFacts{System: "own"}, nil }
	if f, err := c.get(context.Background(), "h", "h/a", load); err != nil || f.System != "own" {
		t.Fatalf("got %+v, %v", f, err)
	}
}
