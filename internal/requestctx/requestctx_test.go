package requestctx

import (
	"context"
	"errors"
	"testing"
)

type key struct{}

type frameworkKey struct{}

// Released, a request's context holds none of its values and is done when
// the request's is; work that outlives the request keeps them.
func TestRelease(t *testing.T) {
	request, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "logger"))
	ctx, release := New(request)
	derived := context.WithValue(ctx, frameworkKey{}, 1) // as the framework derives its own
	outliving := Outlive(derived)
	if ctx.Value(key{}) != "logger" || ctx.Err() != nil {
		t.Fatalf("before release: value %v, err %v", ctx.Value(key{}), ctx.Err())
	}
	release()
	cancel()
	if v := derived.Value(key{}); v != nil {
		t.Errorf("released, the context still holds %v", v)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("released: err %v", ctx.Err())
	}
	select {
	case <-derived.Done():
	default:
		t.Error("the request ended, its released context is not done")
	}
	if outliving.Value(key{}) != "logger" || outliving.Err() != nil {
		t.Errorf("work outliving the request: value %v, err %v", outliving.Value(key{}), outliving.Err())
	}
}

// A context that came from no request outlives it as context.WithoutCancel
// does.
func TestOutliveOfAnyContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	cancel()
	if out := Outlive(ctx); out.Err() != nil || out.Value(key{}) != "v" {
		t.Errorf("err %v, value %v", out.Err(), out.Value(key{}))
	}
}
