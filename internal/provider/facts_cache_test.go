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
			if f, err := c.get(context.Background(), "rt", load); err != nil || f.System != "/nix/store/x" {
				t.Errorf("got %+v, %v", f, err)
			}
		}()
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("%d reads for one runtime, want 1", loads.Load())
	}
	c.forget("rt")
	_, _ = c.get(context.Background(), "rt", load)
	if loads.Load() != 2 {
		t.Fatal("a write must make the next refresh read again")
	}
}

func TestFactsCacheDoesNotKeepFailures(t *testing.T) {
	var c factsCache
	failing := func(context.Context) (nixos.RuntimeFacts, error) {
		return nixos.RuntimeFacts{}, errors.New("host down")
	}
	if _, err := c.get(context.Background(), "rt", failing); err == nil {
		t.Fatal("want the error")
	}
	ok := func(context.Context) (nixos.RuntimeFacts, error) { return nixos.RuntimeFacts{System: "s"}, nil }
	if f, err := c.get(context.Background(), "rt", ok); err != nil || f.System != "s" {
		t.Fatalf("a failed read was kept: %+v %v", f, err)
	}
}
