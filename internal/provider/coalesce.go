package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// deployBatches coalesces the deploys of one runtime that one apply makes
// at the same time (an operator's applications, created in parallel) into
// one build and one switch: a group commit. The first deploy of a runtime
// opens a batch and leads it; deploys that arrive while it gathers, or
// while the runtime's previous batch still runs, join it. Every member has
// written its fragment before it joins, so the one build includes them
// all, and every member gets its result: they go live together, or, when
// one fails its health gate, roll back together with an error naming it.
type deployBatches struct {
	mu    sync.Mutex
	open  map[string]*deployBatch  // gathering, per runtime
	slots map[string]chan struct{} // one batch of a runtime runs at a time
}

type deployBatch struct {
	repair bool // any member asked for a repair
	done   chan struct{}
	result nixos.Result
	err    error
}

// gatherWindow is how long a batch waits for more members before it runs:
// long enough for resources that Terraform applies in parallel to write
// their fragments, short beside a build.
const gatherWindow = 750 * time.Millisecond

// deployFunc builds and activates a runtime's system once.
type deployFunc func(ctx context.Context, repair bool) (nixos.Result, error)

// admitFunc waits until the runtime's host may take one more build (see
// buildSlots); release ends the admission.
type admitFunc func(ctx context.Context) (release func(), err error)

// deploy runs run for the batch this deploy joins, once admit lets it, and
// returns its result.
func (d *deployBatches) deploy(ctx context.Context, runtime string, repair bool, admit admitFunc, run deployFunc) (nixos.Result, error) {
	b, leader := d.join(runtime, repair)
	if leader {
		d.lead(ctx, runtime, b, admit, run)
	}
	select {
	case <-b.done:
		return b.result, b.err
	case <-ctx.Done():
		return nixos.Result{}, fmt.Errorf("waiting for the deploy that includes this change: %w", context.Cause(ctx))
	}
}

// join adds a member to the runtime's open batch, opening one if none is;
// the member that opens it leads it.
func (d *deployBatches) join(runtime string, repair bool) (b *deployBatch, leader bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == nil {
		d.open, d.slots = map[string]*deployBatch{}, map[string]chan struct{}{}
	}
	b, ok := d.open[runtime]
	if !ok {
		b = &deployBatch{done: make(chan struct{})}
		d.open[runtime] = b
	}
	b.repair = b.repair || repair
	return b, !ok
}

// lead gathers members, waits for the runtime's previous batch and for
// admission on its host, closes the batch to newcomers and runs it.
func (d *deployBatches) lead(ctx context.Context, runtime string, b *deployBatch, admit admitFunc, run deployFunc) {
	defer close(b.done)
	release, err := d.gatherAndWait(ctx, runtime, admit)
	d.close(runtime, b)
	if err != nil {
		b.err = err
		return
	}
	defer release()
	b.result, b.err = run(ctx, b.repairWanted(&d.mu))
}

func (d *deployBatches) gatherAndWait(ctx context.Context, runtime string, admit admitFunc) (release func(), err error) {
	gather := time.NewTimer(gatherWindow)
	defer gather.Stop()
	select {
	case <-gather.C:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	slot := d.slot(runtime)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the previous deploy of the runtime: %w", context.Cause(ctx))
	}
	admitted, err := admit(ctx)
	if err != nil {
		<-slot
		return nil, err
	}
	return func() { admitted(); <-slot }, nil
}

func (d *deployBatches) slot(runtime string) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.slots[runtime]
	if !ok {
		s = make(chan struct{}, 1)
		d.slots[runtime] = s
	}
	return s
}

// close stops b from taking members: later deploys open the next batch.
func (d *deployBatches) close(runtime string, b *deployBatch) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open[runtime] == b {
		delete(d.open, runtime)
	}
}

func (b *deployBatch) repairWanted(mu *sync.Mutex) bool {
	mu.Lock()
	defer mu.Unlock()
	return b.repair
}
