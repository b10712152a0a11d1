package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// recorder is a deployFunc that counts its runs and checks that no two
// overlap.
type recorder struct {
	runs, running atomic.Int32
	overlapped    atomic.Bool
	repairs       atomic.Int32
	took          time.Duration
	err           error
}

func (r *recorder) run(context.Context, bool) (nixos.Result, error) {
	n := r.runs.Add(1)
	if r.running.Add(1) > 1 {
		r.overlapped.Store(true)
	}
	time.Sleep(r.took)
	r.running.Add(-1)
	return nixos.Result{Changed: true, System: fmt.Sprintf("/nix/store/system-%d", n)}, r.err
}

// admitAll admits every build at once: no host bounds them.
func admitAll(context.Context) (func(), error) { return func() {}, nil }

func (r *recorder) runRepair(ctx context.Context, repair bool) (nixos.Result, error) {
	if repair {
		r.repairs.Add(1)
	}
	return r.run(ctx, repair)
}

// deployAll starts n deploys of one runtime at once and returns their results.
func deployAll(d *deployBatches, n int, run deployFunc, repair func(i int) bool) ([]nixos.Result, []error) {
	results, errs := make([]nixos.Result, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = d.deploy(context.Background(), "rt", repair(i), admitAll, run) })
	}
	wg.Wait()
	return results, errs
}

func never(int) bool { return false }

func TestDeploysArrivingTogetherRunOnce(t *testing.T) {
	var d deployBatches
	r := &recorder{took: 50 * time.Millisecond}
	results, errs := deployAll(&d, 3, r.run, never)
	if r.runs.Load() != 1 {
		t.Fatalf("%d runs for three deploys arriving together, want 1", r.runs.Load())
	}
	for i := range results {
		if errs[i] != nil || results[i] != results[0] || !results[i].Changed {
			t.Fatalf("member %d got %+v, %v; want the batch's result", i, results[i], errs[i])
		}
	}
}

func TestDeploysDuringARunFormTheNextBatch(t *testing.T) {
	var d deployBatches
	r := &recorder{took: 2 * gatherWindow}
	first := make(chan error, 1)
	go func() { _, err := d.deploy(context.Background(), "rt", false, admitAll, r.run); first <- err }()
	time.Sleep(gatherWindow + gatherWindow/2) // the first batch runs now
	_, errs := deployAll(&d, 3, r.run, never)
	if err := errors.Join(append(errs, <-first)...); err != nil {
		t.Fatal(err)
	}
	if r.runs.Load() != 2 || r.overlapped.Load() {
		t.Fatalf("%d runs (overlapping: %v), want 2 one after the other", r.runs.Load(), r.overlapped.Load())
	}
}

func TestOneMemberAskingForRepairRepairs(t *testing.T) {
	var d deployBatches
	r := &recorder{}
	deployAll(&d, 3, r.runRepair, func(i int) bool { return i == 2 })
	if r.runs.Load() != 1 || r.repairs.Load() != 1 {
		t.Fatalf("%d runs, %d with repair; want one run, repairing", r.runs.Load(), r.repairs.Load())
	}
}

func TestABatchFailureReachesEveryMember(t *testing.T) {
	var d deployBatches
	r := &recorder{err: errors.New("mastodon at social.club.example answered 503")}
	_, errs := deployAll(&d, 3, r.run, never)
	for i, err := range errs {
		if err == nil || err.Error() != r.err.Error() {
			t.Errorf("member %d got %v, want the batch's failure", i, err)
		}
	}
}

func TestACancelledMemberStopsWaitingAndTheBatchGoesOn(t *testing.T) {
	var d deployBatches
	r := &recorder{took: 100 * time.Millisecond}
	done := make(chan error, 1)
	go func() { _, err := d.deploy(context.Background(), "rt", false, admitAll, r.run); done <- err }()
	time.Sleep(gatherWindow / 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.deploy(ctx, "rt", false, admitAll, r.run); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled member got %v", err)
	}
	if err := <-done; err != nil || r.runs.Load() != 1 {
		t.Fatalf("leader: %v after %d runs", err, r.runs.Load())
	}
}

func TestRuntimesDoNotWaitForEachOther(t *testing.T) {
	var d deployBatches
	r := &recorder{took: 2 * gatherWindow}
	var wg sync.WaitGroup
	began := time.Now()
	for _, rt := range []string{"a", "b"} {
		wg.Go(func() { _, _ = d.deploy(context.Background(), rt, false, admitAll, r.run) })
	}
	wg.Wait()
	if r.runs.Load() != 2 || !r.overlapped.Load() {
		t.Fatalf("two runtimes: %d runs, overlapping %v (took %s); want two at once", r.runs.Load(), r.overlapped.Load(), time.Since(began))
	}
}

// With one build slot on a host, its runtimes build one after the other,
// and a change that arrives while its runtime waits for the slot joins the
// waiting batch instead of building again afterwards.
func TestBuildSlotsBoundAHostsBuilds(t *testing.T) {
	var d deployBatches
	slots := &buildSlots{size: 1}
	admit := func(ctx context.Context) (func(), error) { return slots.acquire(ctx, "host") }
	r := &recorder{took: 3 * gatherWindow}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = d.deploy(context.Background(), "a", false, admit, r.run) })
	time.Sleep(gatherWindow / 3) // a takes the slot first
	wg.Go(func() { _, _ = d.deploy(context.Background(), "b", false, admit, r.run) })
	time.Sleep(2 * gatherWindow) // a builds; b gathered and waits for the slot
	wg.Go(func() { _, _ = d.deploy(context.Background(), "b", false, admit, r.run) })
	wg.Wait()
	if r.overlapped.Load() {
		t.Fatal("two builds ran at once on a host with one build slot")
	}
	if r.runs.Load() != 2 {
		t.Fatalf("%d builds, want 2: the late change to b belongs in b's waiting batch", r.runs.Load())
	}
}
