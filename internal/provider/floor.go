package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// FloorEnv, set in a provider process's environment, makes it the
// benchmarks' floor (NewFloor) instead of the provider.
const FloorEnv = "FEDIVERSITY_BENCH_FLOOR"

// NewFloor is this provider's schemas without its behaviour: no
// connection, no read, no plan logic beyond what the schemas declare. A
// no-op plan of a fleet's state through it costs what OpenTofu and the
// plugin framework cost for these resources, so that the benchmarks can
// tell that apart from what the provider's own reads and logic add. It
// changes nothing anywhere: every create, update and delete is refused.
func NewFloor() provider.Provider {
	return floorProvider{inner: &fediversityProvider{version: "floor"}}
}

type floorProvider struct {
	inner *fediversityProvider
}

func (p floorProvider) Metadata(ctx context.Context, req provider.MetadataRequest, resp *provider.MetadataResponse) {
	p.inner.Metadata(ctx, req, resp)
}

func (p floorProvider) Schema(ctx context.Context, req provider.SchemaRequest, resp *provider.SchemaResponse) {
	p.inner.Schema(ctx, req, resp)
}

func (floorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (floorProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

func (p floorProvider) Resources(ctx context.Context) []func() resource.Resource {
	var floors []func() resource.Resource
	for _, newResource := range p.inner.Resources(ctx) {
		floors = append(floors, func() resource.Resource { return floorResource{inner: newResource()} })
	}
	return floors
}

// floorResource is a resource's metadata and schema; Read keeps the prior
// state.
type floorResource struct {
	inner resource.Resource
}

func (r floorResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	r.inner.Metadata(ctx, req, resp)
}

func (r floorResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.inner.Schema(ctx, req, resp)
}

func (floorResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (floorResource) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	floorRefuses(&resp.Diagnostics)
}

func (floorResource) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	floorRefuses(&resp.Diagnostics)
}

func (floorResource) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	floorRefuses(&resp.Diagnostics)
}

func floorRefuses(diags *diag.Diagnostics) {
	diags.AddError("Benchmark Floor Changes Nothing",
		FloorEnv+" is set, so this provider process is the benchmarks' floor: it plans, and changes nothing. Unset "+FloorEnv+" to deploy.")
}
