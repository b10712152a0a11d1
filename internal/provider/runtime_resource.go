package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

var (
	_ resource.ResourceWithConfigure   = &runtimeResource{}
	_ resource.ResourceWithModifyPlan  = &runtimeResource{}
	_ resource.ResourceWithImportState = &runtimeResource{}
)

const (
	runtimeFragment         = "runtime.json"
	defaultKeepGenerations  = 5
	defaultStateVersion     = "24.11"
	defaultDeployTimeout    = 30 * time.Minute
	defaultRuntimeReadLimit = 2 * time.Minute
)

// safeName is what runtime, operator and container names must be: they
// become file names, unit names and database names on the host.
var safeName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$`)

// NewRuntimeResource is fediversity_runtime: a NixOS system on a host in
// which operators' applications run.
func NewRuntimeResource() resource.Resource {
	return &runtimeResource{}
}

type runtimeResource struct {
	data *providerData
}

type runtimeModel struct {
	ID                types.String    `tfsdk:"id"`
	Name              types.String    `tfsdk:"name"`
	Host              connectionModel `tfsdk:"host"`
	Kind              types.String    `tfsdk:"kind"`
	Nixpkgs           types.String    `tfsdk:"nixpkgs"`
	KeepGenerations   types.Int64     `tfsdk:"keep_generations"`
	ListenAddresses   types.List      `tfsdk:"listen_addresses"`
	StateVersion      types.String    `tfsdk:"state_version"`
	Target            types.Object    `tfsdk:"target"`
	CurrentGeneration types.Int64     `tfsdk:"current_generation"`
	System            types.String    `tfsdk:"system"`
	InSync            types.Bool      `tfsdk:"in_sync"`
	Timeouts          timeouts.Value  `tfsdk:"timeouts"`
}

// runtimeFragmentModel is runtime.json, read by the provider's NixOS modules.
type runtimeFragmentModel struct {
	Name            string   `json:"name"`
	Kind            string   `json:"kind"`
	HostName        string   `json:"hostName"`
	ListenAddresses []string `json:"listenAddresses"`
	StateVersion    string   `json:"stateVersion"`
	Nixpkgs         string   `json:"nixpkgs"`
	KeepGenerations int64    `json:"keepGenerations"`
}

func (r *runtimeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_runtime"
}

func (r *runtimeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A NixOS system on a host in which operators' applications run. " +
			"A `host` runtime is the host's own system profile: operators live side by side, one instance of each application kind. " +
			"Creating it builds and activates a base system; operators and applications add their parts and the runtime is rebuilt. " +
			"Destroying it forgets its desired state and leaves the running system as it is.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port/name`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the runtime on its host: lower-case letters, digits and `-`, at most 32.",
				Validators:    []validator.String{stringvalidator.RegexMatches(safeName, "must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"host": connectionAttribute("The host: `fediversity_host.<name>.endpoint`."),
			"kind": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("host"),
				MarkdownDescription: "`host`: the host's own NixOS system. Container runtimes are planned and not offered by this version yet.",
				Validators:          []validator.String{stringvalidator.OneOfCaseInsensitive("host")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"nixpkgs": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Path of the pinned nixpkgs on the host that builds. Unset, the host's `<nixpkgs>` (NIX_PATH) is used."},
			"keep_generations": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(defaultKeepGenerations),
				MarkdownDescription: "Earlier generations kept as rollback points; the current one is never removed.",
				Validators:          []validator.Int64{int64validator.Between(2, 100)}},
			"listen_addresses": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Addresses the web server listens on. Unset, all of the host's.",
				Validators:          []validator.List{listvalidator.ValueStringsAre(addressValidator())}},
			"state_version": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultStateVersion),
				MarkdownDescription: "NixOS `system.stateVersion` of the runtime."},
			"target": schema.ObjectAttribute{Computed: true, AttributeTypes: runtimeTargetTypes,
				MarkdownDescription: "Pass this to `fediversity_operator.runtime`."},
			"current_generation": schema.Int64Attribute{Computed: true, MarkdownDescription: "Generation of the running system."},
			"system":             schema.StringAttribute{Computed: true, MarkdownDescription: "Store path of the running system."},
			"in_sync": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the running system was built from the desired state on the host. A refresh that finds it is not (a generation switched by hand, a fragment changed) plans a rebuild."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Read: true}),
		},
	}
}

func (r *runtimeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan keeps target known at plan time, and plans a rebuild when the
// last refresh found the running system out of sync with its desired state.
func (r *runtimeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state runtimeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(plan.Host.checkHostKeyPinned(r.data)...)
	target, diags := plan.target(ctx)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("target"), target)...)
	if req.State.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if !state.InSync.IsNull() && !state.InSync.ValueBool() {
		// Unknown facts make this an update, which rebuilds and switches.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("in_sync"), types.BoolUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("system"), types.StringUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("current_generation"), types.Int64Unknown())...)
	}
}

func (m runtimeModel) target(ctx context.Context) (types.Object, diag.Diagnostics) {
	t := runtimeTargetModel{Host: m.Host, Name: m.Name}
	return objectOf(ctx, runtimeTargetTypes, t, m.Host.Address, m.Host.Port, m.Host.User, m.Host.HostKey, m.Name)
}

func (m runtimeModel) ops(data *providerData) runtimeOps {
	return runtimeOps{data: data, target: runtimeTargetModel{Host: m.Host, Name: m.Name}}
}

func (m runtimeModel) fragment(ctx context.Context) (runtimeFragmentModel, diag.Diagnostics) {
	f := runtimeFragmentModel{
		Name: m.Name.ValueString(), Kind: m.Kind.ValueString(), HostName: m.Name.ValueString(),
		StateVersion: m.StateVersion.ValueString(), Nixpkgs: m.Nixpkgs.ValueString(), KeepGenerations: m.KeepGenerations.ValueInt64(),
		ListenAddresses: []string{},
	}
	diags := m.ListenAddresses.ElementsAs(ctx, &f.ListenAddresses, false)
	if f.ListenAddresses == nil {
		f.ListenAddresses = []string{} // unset: all addresses; never JSON null
	}
	return f, diags
}

func (r *runtimeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Create, true)...)
}

func (r *runtimeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Update, false)...)
}

// apply writes runtime.json and brings the runtime's system up to date;
// create puts the resource in state before the deploy (a failed update
// keeps the prior state, which is what still runs).
func (r *runtimeResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, timeout timeoutOf, create bool) diag.Diagnostics {
	var m runtimeModel
	diags := plan.Get(ctx, &m)
	limit, d := timeout(m.Timeouts, ctx, defaultDeployTimeout)
	diags.Append(d...)
	fragment, d := m.fragment(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	ops := m.ops(r.data)
	m.ID = types.StringValue(ops.key())
	m.Target, d = m.target(ctx)
	diags.Append(d...)
	m.System, m.InSync, m.CurrentGeneration = types.StringNull(), types.BoolValue(false), types.Int64Null()
	result, err := ops.deployFragment(ctx, runtimeFragment, fragment, limit, &fragment, false, trackCreated(ctx, create, state, m, &diags))
	if err != nil {
		diags.Append(ops.deployDiagnostic("Runtime Deployment Failed", "Building and activating the system", err))
		return diags
	}
	m.System, m.InSync = types.StringValue(result.System), types.BoolValue(true)
	m.CurrentGeneration = types.Int64Value(generationAfter(ctx, ops))
	diags.Append(state.Set(ctx, m)...)
	return diags
}

// generationAfter reads the generation number right after a deploy.
func generationAfter(ctx context.Context, ops runtimeOps) int64 {
	facts, err := ops.facts(ctx)
	if err != nil {
		return 0
	}
	return facts.Generation
}

func (r *runtimeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m runtimeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, defaultRuntimeReadLimit)
	defer cancel()
	facts, err := m.ops(r.data).facts(ctx)
	if readFailure(err, "runtime "+m.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	deployed, ok := facts.Deployed[runtimeFragment]
	if !ok || facts.OnDisk[runtimeFragment] == "" {
		resp.State.RemoveResource(ctx) // gone from the host: plan to create it again
		return
	}
	resp.Diagnostics.Append(m.setFromFragment(ctx, deployed)...)
	m.ID = types.StringValue(m.ops(r.data).key())
	m.System, m.CurrentGeneration, m.InSync = types.StringValue(facts.System), types.Int64Value(facts.Generation), types.BoolValue(facts.InSync())
	var d diag.Diagnostics
	m.Target, d = m.target(ctx)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// setFromFragment takes the configuration the running system was built
// with, so that a plan shows any difference from the configuration.
func (m *runtimeModel) setFromFragment(ctx context.Context, content []byte) diag.Diagnostics {
	var f runtimeFragmentModel
	var diags diag.Diagnostics
	if err := json.Unmarshal(content, &f); err != nil {
		diags.AddError("Unreadable Runtime State", fmt.Sprintf("runtime.json of runtime %q on its host is not valid JSON (%v); apply again to rewrite it.", m.Name.ValueString(), err))
		return diags
	}
	m.Name, m.Kind, m.StateVersion = types.StringValue(f.Name), types.StringValue(f.Kind), types.StringValue(f.StateVersion)
	m.Nixpkgs = nullIfEmpty(f.Nixpkgs)
	m.KeepGenerations = types.Int64Value(f.KeepGenerations)
	if len(f.ListenAddresses) == 0 && m.ListenAddresses.IsNull() {
		return diags
	}
	var d diag.Diagnostics
	m.ListenAddresses, d = types.ListValueFrom(ctx, types.StringType, f.ListenAddresses)
	diags.Append(d...)
	return diags
}

// readFailure handles a failed refresh the same way for every resource on
// a runtime: an unreachable host keeps the state with a warning (Read
// returns without setting state, so the prior state stays), anything else
// is an error. It reports whether Read should stop.
func readFailure(err error, what string, diags *diag.Diagnostics) bool {
	switch {
	case err == nil:
		return false
	case remote.IsTransient(err):
		diags.AddWarning("Host Unreachable, State Kept",
			fmt.Sprintf("Refreshing %s: the host could not be reached (%v). The last known state is kept; the next refresh updates it once the host is back.", what, err))
	default:
		diags.Append(remoteErrorDiagnostic("Refreshing "+what, err))
	}
	return true
}

// Delete forgets the runtime's desired state; the running system stays.
func (r *runtimeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m runtimeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := m.ops(r.data).removeFragment(ctx, runtimeFragment); err != nil {
		resp.Diagnostics.Append(remoteErrorDiagnostic("Removing runtime "+m.ID.ValueString(), err))
	}
}

// ImportState takes "[user@]address[:port]/name", optionally followed by a
// space and the host key to pin.
func (r *runtimeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts, err := parseNestedImportID(req.ID, 1)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf(`import ID must be "[user@]address[:port]/name", optionally followed by a space and the host key, e.g. "root@192.0.2.10:22/web ssh-ed25519 AAAA...": %v`, err))
		return
	}
	for name, value := range map[string]attr.Value{
		"id":   types.StringValue(req.ID[:len(req.ID)-len(parts.key)]),
		"name": types.StringValue(parts.names[0]),
		"host": mustObject(ctx, connectionTypes, parts.host),
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

func mustObject(ctx context.Context, attrTypes map[string]attr.Type, model any) types.Object {
	v, _ := types.ObjectValueFrom(ctx, attrTypes, model)
	return v
}
