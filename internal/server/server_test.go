package server_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/fediversity/terraform-provider-fediversity/internal/server"
)

// requests and what each request's context holds: what the framework
// would keep of them is far beyond any noise.
const (
	requests     = 2000
	perRequest   = 32 << 10
	retainedMost = requests * perRequest / 20
)

// The framework keeps every request's context; served through New, what it
// keeps no longer holds what the requests' contexts held.
func TestRequestsAreNotRetained(t *testing.T) {
	bare := retainedBy(t, providerserver.NewProtocol6(emptyProvider{})())
	if bare < requests*perRequest/2 {
		// Nothing to work around any more: New can serve the framework's
		// server as it is.
		t.Fatalf("the framework's own server kept only %d bytes of %d requests' contexts of %d bytes each", bare, requests, perRequest)
	}
	if kept := retainedBy(t, server.New(emptyProvider{})); kept > retainedMost {
		t.Errorf("served through New, %d requests' contexts of %d bytes each left %d bytes held (the framework alone: %d)", requests, perRequest, kept, bare)
	}
}

type payloadKey struct{}

// retainedBy is how much more memory is in use after s served requests
// whose contexts each held perRequest bytes, and the requests ended.
func retainedBy(t *testing.T, s tfprotov6.ProviderServer) int64 {
	before := heapInUse()
	for range requests {
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), payloadKey{}, make([]byte, perRequest)))
		if _, err := s.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "none"}); err != nil {
			t.Fatal(err)
		}
		cancel() // as gRPC ends a request's context once it is answered
	}
	kept := heapInUse() - before
	runtime.KeepAlive(s)
	return kept
}

func heapInUse() int64 {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return int64(stats.HeapAlloc)
}

// emptyProvider has no resources: every request is answered with an error
// diagnostic, after the framework registered its context.
type emptyProvider struct{}

func (emptyProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "empty"
}
func (emptyProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}
func (emptyProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}
func (emptyProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
func (emptyProvider) Resources(context.Context) []func() resource.Resource       { return nil }
