package provider

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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
	_ resource.ResourceWithConfigure      = &runtimeResource{}
	_ resource.ResourceWithModifyPlan     = &runtimeResource{}
	_ resource.ResourceWithImportState    = &runtimeResource{}
	_ resource.ResourceWithValidateConfig = &runtimeResource{}
)

// Kinds of runtime.
const (
	runtimeKindHost      = "host"
	runtimeKindContainer = "container"
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
	ContainerName     types.String    `tfsdk:"container_name"`
	Address           types.String    `tfsdk:"address"`
	Nixpkgs           types.String    `tfsdk:"nixpkgs"`
	BuildLocation     types.String    `tfsdk:"build_location"`
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
	ContainerName   string   `json:"containerName,omitempty"`
	HostName        string   `json:"hostName"`
	ListenAddresses []string `json:"listenAddresses"`
	StateVersion    string   `json:"stateVersion"`
	Nixpkgs         string   `json:"nixpkgs"`
	BuildLocation   string   `json:"buildLocation,omitempty"`
	KeepGenerations int64    `json:"keepGenerations"`
}

func (r *runtimeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_runtime"
}

func (r *runtimeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A NixOS system on a host in which operators' applications run. " +
			"A `host` runtime is the host's own system profile: operators live side by side, one instance of each application kind. " +
			"A `container` runtime is a NixOS container of its own, with its own address, database server and mail: the unit of isolation for one operator, and of migration. " +
			"Creating it builds and activates a base system; operators and applications add their parts and the runtime is rebuilt. " +
			"Destroying it forgets its desired state; a host runtime's system keeps running, a container is stopped and keeps its files (`nixos-container destroy NAME` removes them for good).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port/name`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the runtime on its host: lower-case letters, digits and `-`, at most 32.",
				Validators:    []validator.String{stringvalidator.RegexMatches(safeName, "must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"host": connectionAttribute("The host: `fediversity_host.<name>.endpoint`."),
			"kind": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(runtimeKindHost),
				MarkdownDescription: "`host`: the host's own NixOS system. `container`: a NixOS container on the host, created with `nixos-container create NAME --system-path PATH` and updated by setting its profile and reloading `container@NAME`.",
				Validators:          []validator.String{stringvalidator.OneOf(runtimeKindHost, runtimeKindContainer)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"container_name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Name of the NixOS container of a `container` runtime: 1-11 lower-case letters, digits or `-`, starting with a letter (it names the container's network interface `ve-NAME`). Defaults to the runtime's name when that fits, else to a stable short form of it.",
				Validators:          []validator.String{stringvalidator.RegexMatches(containerName, "must be 1-11 lower-case letters, digits or '-', starting with a letter")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"address": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Where the runtime's web and mail services answer, which the DNS records of its operators and applications name: the host's address, or the container's own (as `nixos-container show-ip` reports it)."},
			"nixpkgs": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Path of the pinned nixpkgs on the machine that builds (see `build_location`). Unset, that machine's `<nixpkgs>` (NIX_PATH) is used."},
			"build_location": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(buildOnTarget),
				MarkdownDescription: "`target`: build on the host. `local`: build on the machine running OpenTofu (which needs Nix) and stream only the store paths the host lacks over the same SSH connection, for hosts too small to evaluate nixpkgs.",
				Validators:          []validator.String{stringvalidator.OneOf(buildOnTarget, buildLocal)}},
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

// containerName is what nixos-container accepts (see nixos.ContainerProfile).
var containerName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,10}$`)

// ValidateConfig refuses a container name on a runtime that is no container.
func (r *runtimeResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var kind, name types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("kind"), &kind)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("container_name"), &name)...)
	if kind.IsUnknown() || name.IsNull() || kind.ValueString() == runtimeKindContainer {
		return
	}
	resp.Diagnostics.AddAttributeError(path.Root("container_name"), "Container Name Without Container",
		fmt.Sprintf("container_name is set but kind is %q: set kind = \"container\", or remove container_name.", cmp.Or(kind.ValueString(), runtimeKindHost)))
}

// defaultContainerName is the runtime's name when nixos-container takes
// it, else its first letters and a hash of the whole: stable, and distinct
// for names that share a beginning.
func defaultContainerName(runtime string) string {
	if containerName.MatchString(runtime) {
		return runtime
	}
	sum := sha256.Sum256([]byte(runtime))
	return strings.TrimRight(runtime[:6], "-") + "-" + hex.EncodeToString(sum[:])[:4]
}

// ModifyPlan keeps target known at plan time, and plans a rebuild when the
// last refresh found the running system out of sync with its desired state.
func (r *runtimeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var host connectionModel
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("host"), &host)...)
	resp.Diagnostics.Append(host.checkHostKeyPinned(r.data)...)
	if !req.State.Raw.IsNull() {
		planRebuild(ctx, req.State, resp)
	}
	if resp.Diagnostics.HasError() || unchangedPlan(req) {
		return
	}
	var plan, state runtimeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	plan.planContainer(state)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("container_name"), plan.ContainerName)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("address"), plan.Address)...)
	target, diags := plan.target(ctx)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("target"), target)...)
}

// planRebuild plans a rebuild of a runtime that the last refresh found out
// of sync with its desired state: unknown facts make it an update, which
// rebuilds and switches.
func planRebuild(ctx context.Context, state tfsdk.State, resp *resource.ModifyPlanResponse) {
	var inSync types.Bool
	resp.Diagnostics.Append(state.GetAttribute(ctx, path.Root("in_sync"), &inSync)...)
	if inSync.IsNull() || inSync.ValueBool() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("in_sync"), types.BoolUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("system"), types.StringUnknown())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("current_generation"), types.Int64Unknown())...)
}

// planContainer plans the container's name and the runtime's address: a
// host runtime answers on the host's address; a container keeps the
// address it has, and a new one gets its address when it is created.
func (m *runtimeModel) planContainer(state runtimeModel) {
	if m.Kind.ValueString() != runtimeKindContainer {
		m.ContainerName, m.Address = types.StringNull(), m.Host.Address
		return
	}
	if m.ContainerName.IsUnknown() && !m.Name.IsUnknown() {
		m.ContainerName = types.StringValue(defaultContainerName(m.Name.ValueString()))
	}
	m.Address = types.StringUnknown()
	if state.ContainerName.Equal(m.ContainerName) && state.Host.Address.Equal(m.Host.Address) && state.Address.ValueString() != "" {
		m.Address = state.Address
	}
}

func (m runtimeModel) target(ctx context.Context) (types.Object, diag.Diagnostics) {
	t := m.targetModel()
	return objectOf(ctx, runtimeTargetTypes, t, m.Host.Address, m.Host.Port, m.Host.User, m.Host.HostKey, m.Name, m.Kind, m.ContainerName)
}

func (m runtimeModel) targetModel() runtimeTargetModel {
	return runtimeTargetModel{Host: m.Host, Name: m.Name, Kind: m.Kind, Container: m.ContainerName, Address: m.Address}
}

func (m runtimeModel) ops(data *providerData) runtimeOps {
	return runtimeOps{data: data, target: m.targetModel()}
}

func (m runtimeModel) fragment(ctx context.Context) (runtimeFragmentModel, diag.Diagnostics) {
	f := runtimeFragmentModel{
		Name: m.Name.ValueString(), Kind: m.Kind.ValueString(), ContainerName: m.ContainerName.ValueString(), HostName: m.Name.ValueString(),
		StateVersion: m.StateVersion.ValueString(), Nixpkgs: m.Nixpkgs.ValueString(), KeepGenerations: m.KeepGenerations.ValueInt64(),
		BuildLocation:   m.BuildLocation.ValueString(),
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
	if m.Address.IsUnknown() {
		m.Address = types.StringNull() // a new container's, known once it is created
	}
	m.Target, d = m.target(ctx)
	diags.Append(d...)
	m.System, m.InSync, m.CurrentGeneration = types.StringNull(), types.BoolValue(false), types.Int64Null()
	if err := ops.markKind(ctx); err != nil {
		diags.Append(remoteErrorDiagnostic("Recording the kind of runtime "+m.Name.ValueString(), err))
		return diags
	}
	result, err := ops.deployFragment(ctx, runtimeFragment, fragment, limit, &fragment, false, trackCreated(ctx, create, state, m, &diags))
	if err != nil {
		diags.Append(ops.deployDiagnostic("Runtime Deployment Failed", "Building and activating the system", err))
		return diags
	}
	m.System, m.InSync = types.StringValue(result.System), types.BoolValue(true)
	diags.Append(m.setAfterDeploy(ctx, ops)...)
	diags.Append(state.Set(ctx, m)...)
	return diags
}

// setAfterDeploy reads what a deploy settled: the generation number and a
// new container's address.
func (m *runtimeModel) setAfterDeploy(ctx context.Context, ops runtimeOps) diag.Diagnostics {
	var diags diag.Diagnostics
	facts, err := ops.facts(ctx)
	if err != nil {
		diags.AddWarning("Runtime Facts Not Read", fmt.Sprintf("The runtime was deployed, but reading its generation afterwards failed (%v); the next refresh reads it.", err))
	}
	m.CurrentGeneration = types.Int64Value(facts.Generation)
	if m.Address.IsNull() {
		m.Address = types.StringValue(facts.Address)
	}
	m.Target, diags = m.target(ctx)
	return diags
}

func (r *runtimeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m runtimeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior := m
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
	observed := m.ops(r.data).observed(facts)
	m.ContainerName, m.Address = observed.Container, observed.Address
	var d diag.Diagnostics
	m.Target, d = m.target(ctx)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(setIfChanged(ctx, &resp.State, prior, m)...)
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
	m.ContainerName = nullIfEmpty(f.ContainerName)
	m.Nixpkgs = nullIfEmpty(f.Nixpkgs)
	m.BuildLocation = types.StringValue(cmp.Or(f.BuildLocation, buildOnTarget))
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

// Delete forgets the runtime's desired state. A host runtime's system
// stays as it runs; a container is stopped and keeps its files, which hold
// any data its applications were told to retain.
func (r *runtimeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m runtimeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := m.ops(r.data).forget(ctx); err != nil {
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
