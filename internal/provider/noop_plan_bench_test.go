package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/server"
)

// The provider's share of a no-op plan, without OpenTofu, hosts or SSH:
// the calls OpenTofu makes for each resource of one operator (a runtime,
// the operator and three applications, as modules/operator declares them
// and a refresh finds them, from testdata/noop_plan_operator.json), with
// the runtime's facts already read. BenchmarkNoopPlanFloor makes the same
// calls to NewFloor, the same schemas without the provider's behaviour:
// the ratio is what the provider's own code adds to what the plugin
// framework costs for these resources.

func BenchmarkNoopPlan(b *testing.B) {
	providerPlanBench(b).run(b)
}

func BenchmarkNoopPlanFloor(b *testing.B) {
	newPlanBench(b, NewFloor()).run(b)
}

// An operator that a refresh finds as applied plans no change, through the
// provider and through its floor alike (what the benchmarks rely on).
func TestNoopPlanChangesNothing(t *testing.T) {
	providerPlanBench(t).checkNoop(t)
	newPlanBench(t, NewFloor()).checkNoop(t)
}

// The floor refuses to change anything, so that a stray
// FEDIVERSITY_BENCH_FLOOR cannot pass for a deploy.
func TestFloorRefusesChanges(t *testing.T) {
	bench := newPlanBench(t, NewFloor())
	c := bench.calls[0]
	resp, err := bench.server.ApplyResourceChange(context.Background(), &tfprotov6.ApplyResourceChangeRequest{
		TypeName: c.typeName, PriorState: c.state, PlannedState: c.state, Config: c.config,
	})
	if err != nil || len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != "Benchmark Floor Changes Nothing" {
		t.Fatalf("floor update: %v %+v", err, resp.Diagnostics)
	}
}

// providerPlanBench is the provider configured, with the fixture's runtime
// read.
func providerPlanBench(tb testing.TB) *planBench {
	p := &capturingProvider{fediversityProvider: &fediversityProvider{version: "bench"}}
	bench := newPlanBench(tb, p)
	bench.configure(tb, providerConfig(tb, bench.providerType))
	fillFacts(tb, p.data, bench.calls)
	return bench
}

// run plans the bench's resources b.N times, reporting the process's CPU
// time per plan beside the wall time: on a busy machine the CPU time is the
// steadier figure.
func (pb *planBench) run(b *testing.B) {
	pb.checkNoop(b)
	began := cpuTime(b)
	for b.Loop() {
		pb.plan(b)
	}
	b.ReportMetric(float64(cpuTime(b)-began)/float64(b.N), "cpu-ns/op")
}

func cpuTime(tb testing.TB) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// planCall is one resource as OpenTofu holds it in a no-op plan.
type planCall struct {
	typeName  string
	schema    *tfprotov6.SchemaBlock
	typ       tftypes.Type
	config    *tfprotov6.DynamicValue
	state     *tfprotov6.DynamicValue
	stateJSON []byte      // as the state file has it, for UpgradeResourceState
	model     tfsdk.State // the state as the framework reads it
}

type planBench struct {
	server       tfprotov6.ProviderServer
	providerType tftypes.Type
	calls        []planCall
}

// newPlanBench starts the provider's server as the binary serves it, and
// loads the fixture's resources for it.
func newPlanBench(tb testing.TB, p provider.Provider) *planBench {
	tb.Helper()
	ctx := context.Background()
	served := server.New(p)
	schemas, err := served.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || len(schemas.Diagnostics) > 0 {
		tb.Fatalf("provider schema: %v %v", err, schemas.Diagnostics)
	}
	return &planBench{server: served, providerType: schemas.Provider.ValueType(), calls: fixtureCalls(tb, schemas.ResourceSchemas)}
}

type fixtureResource struct {
	Type   string          `json:"type"`
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

func fixtureCalls(tb testing.TB, schemas map[string]*tfprotov6.Schema) []planCall {
	content, err := os.ReadFile("testdata/noop_plan_operator.json")
	if err != nil {
		tb.Fatal(err)
	}
	var resources []fixtureResource
	if err := json.Unmarshal(content, &resources); err != nil {
		tb.Fatal(err)
	}
	calls := make([]planCall, 0, len(resources))
	for _, r := range resources {
		typ := schemas[r.Type].ValueType()
		config, state := valueFromJSON(tb, r.Config, typ), valueFromJSON(tb, r.State, typ)
		calls = append(calls, planCall{typeName: r.Type, schema: schemas[r.Type].Block, typ: typ, config: dynamicValue(tb, typ, config), state: dynamicValue(tb, typ, state),
			stateJSON: r.State, model: tfsdk.State{Raw: state, Schema: frameworkSchema(tb, r.Type)}})
	}
	return calls
}

func valueFromJSON(tb testing.TB, content []byte, typ tftypes.Type) tftypes.Value {
	v, err := (&tfprotov6.RawState{JSON: content}).Unmarshal(typ)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func dynamicValue(tb testing.TB, typ tftypes.Type, v tftypes.Value) *tfprotov6.DynamicValue {
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		tb.Fatal(err)
	}
	return &dv
}

func frameworkSchema(tb testing.TB, typeName string) schema.Schema {
	resources := map[string]resource.Resource{
		"fediversity_runtime": NewRuntimeResource(), "fediversity_operator": NewOperatorResource(), "fediversity_application": NewApplicationResource(),
	}
	var resp resource.SchemaResponse
	resources[typeName].Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		tb.Fatal(resp.Diagnostics)
	}
	return resp.Schema
}

// configure configures the provider as OpenTofu does before any resource
// call.
func (pb *planBench) configure(tb testing.TB, config tftypes.Value) {
	resp, err := pb.server.ConfigureProvider(context.Background(), &tfprotov6.ConfigureProviderRequest{Config: dynamicValue(tb, pb.providerType, config)})
	if err != nil || len(resp.Diagnostics) > 0 {
		tb.Fatalf("configure: %v %v", err, resp.Diagnostics)
	}
}

// plan makes OpenTofu's calls of a no-op plan for each resource: validate
// its configuration, upgrade its stored state, refresh it, plan it.
func (pb *planBench) plan(tb testing.TB) []*tfprotov6.PlanResourceChangeResponse {
	ctx := context.Background()
	planned := make([]*tfprotov6.PlanResourceChangeResponse, 0, len(pb.calls))
	for _, c := range pb.calls {
		validated, err := pb.server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: c.typeName, Config: c.config})
		mustSucceed(tb, "validate "+c.typeName, err, validated.Diagnostics)
		upgraded, err := pb.server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{TypeName: c.typeName, RawState: &tfprotov6.RawState{JSON: c.stateJSON}})
		mustSucceed(tb, "upgrade "+c.typeName, err, upgraded.Diagnostics)
		read, err := pb.server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: c.typeName, CurrentState: upgraded.UpgradedState})
		mustSucceed(tb, "read "+c.typeName, err, read.Diagnostics)
		plan, err := pb.server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
			TypeName: c.typeName, Config: c.config, PriorState: read.NewState, ProposedNewState: c.proposed(tb, read.NewState),
		})
		mustSucceed(tb, "plan "+c.typeName, err, plan.Diagnostics)
		planned = append(planned, plan)
	}
	return planned
}

// proposed is what OpenTofu proposes from the configuration and the
// refreshed state.
func (c planCall) proposed(tb testing.TB, refreshed *tfprotov6.DynamicValue) *tfprotov6.DynamicValue {
	config, err := c.config.Unmarshal(c.typ)
	if err != nil {
		tb.Fatal(err)
	}
	prior, err := refreshed.Unmarshal(c.typ)
	if err != nil {
		tb.Fatal(err)
	}
	return dynamicValue(tb, c.typ, proposedNew(tb, c.schema.Attributes, c.schema.BlockTypes, config, prior))
}

// proposedNew merges as OpenTofu does: each configured value, and the prior
// value of a computed attribute left unset, through nested objects.
func proposedNew(tb testing.TB, attributes []*tfprotov6.SchemaAttribute, blocks []*tfprotov6.SchemaNestedBlock, config, prior tftypes.Value) tftypes.Value {
	if config.IsNull() || prior.IsNull() || !prior.IsKnown() {
		return config
	}
	var configured, priors map[string]tftypes.Value
	if err := config.As(&configured); err != nil {
		tb.Fatal(err)
	}
	if err := prior.As(&priors); err != nil {
		tb.Fatal(err)
	}
	merged := map[string]tftypes.Value{}
	for _, a := range attributes {
		c, p := configured[a.Name], priors[a.Name]
		switch {
		case a.Computed && c.IsNull():
			merged[a.Name] = p
		case a.NestedType != nil && a.NestedType.Nesting == tfprotov6.SchemaObjectNestingModeSingle:
			merged[a.Name] = proposedNew(tb, a.NestedType.Attributes, nil, c, p)
		default:
			merged[a.Name] = c
		}
	}
	for _, b := range blocks {
		merged[b.TypeName] = proposedNew(tb, b.Block.Attributes, b.Block.BlockTypes, configured[b.TypeName], priors[b.TypeName])
	}
	return tftypes.NewValue(config.Type(), merged)
}

// checkNoop fails the benchmark unless every resource plans no change: a
// bench of a plan that changes something measures the wrong thing.
func (pb *planBench) checkNoop(tb testing.TB) {
	for i, plan := range pb.plan(tb) {
		c := pb.calls[i]
		got, err := plan.PlannedState.Unmarshal(c.typ)
		if err != nil {
			tb.Fatal(err)
		}
		want, err := c.state.Unmarshal(c.typ)
		if err != nil {
			tb.Fatal(err)
		}
		if diff, _ := want.Diff(got); len(diff) > 0 || len(plan.RequiresReplace) > 0 {
			tb.Fatalf("%s plans a change: %v (replace %v)", c.typeName, diff, plan.RequiresReplace)
		}
	}
}

func mustSucceed(tb testing.TB, what string, err error, diags []*tfprotov6.Diagnostic) {
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			tb.Fatalf("%s: %s: %s", what, d.Summary, d.Detail)
		}
	}
}

// capturingProvider is the provider, keeping the data its configuration
// made so that the bench can fill in what a host's read would find.
type capturingProvider struct {
	*fediversityProvider
	data *providerData
}

func (p *capturingProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	p.fediversityProvider.Configure(ctx, req, resp)
	p.data, _ = resp.ResourceData.(*providerData)
}

// providerConfig is a provider block with a client key of its own; nothing
// dials.
func providerConfig(tb testing.TB, typ tftypes.Type) tftypes.Value {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		tb.Fatal(err)
	}
	config, err := json.Marshal(map[string]string{"private_key": string(pem.EncodeToMemory(block))})
	if err != nil {
		tb.Fatal(err)
	}
	return valueFromJSON(tb, config, typ)
}

// fillFacts puts in the facts cache what a host's read finds for the
// fixture's runtime: every resource's fragment deployed, in sync.
func fillFacts(tb testing.TB, data *providerData, calls []planCall) {
	ctx := context.Background()
	facts := nixos.RuntimeFacts{OnDisk: map[string]string{}, Running: map[string]string{}, Deployed: map[string][]byte{}, ContainerUp: true}
	deploy := func(name string, fragment any) {
		content, err := fragmentJSON(fragment)
		if err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(content)
		facts.Deployed[name], facts.OnDisk[name], facts.Running[name] = content, hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:])
	}
	var key string
	for _, c := range calls {
		switch c.typeName {
		case "fediversity_runtime":
			var m runtimeModel
			mustGet(tb, c.model.Get(ctx, &m))
			fragment, diags := m.fragment(ctx)
			mustGet(tb, diags)
			deploy(runtimeFragment, fragment)
			key = m.ops(data).key()
			facts.System, facts.Generation = m.System.ValueString(), m.CurrentGeneration.ValueInt64()
			facts.Container, facts.Address = m.ContainerName.ValueString(), m.Address.ValueString()
		case "fediversity_operator":
			var m operatorModel
			mustGet(tb, c.model.Get(ctx, &m))
			deploy(operatorFragmentName(m.Name.ValueString()), m.fragment())
		case "fediversity_application":
			var m applicationModel
			mustGet(tb, c.model.Get(ctx, &m))
			deploy(m.fragmentName(), m.fragment())
		}
	}
	done := make(chan struct{})
	close(done)
	data.facts.init()
	data.facts.entries[key] = &factsEntry{done: done, facts: facts}
}

func mustGet(tb testing.TB, diags interface{ HasError() bool }) {
	if diags.HasError() {
		tb.Fatal(diags)
	}
}
