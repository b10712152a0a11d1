package provider

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

var (
	_ resource.ResourceWithConfigure   = &hostResource{}
	_ resource.ResourceWithModifyPlan  = &hostResource{}
	_ resource.ResourceWithImportState = &hostResource{}
)

const (
	defaultHostCreateTimeout = 5 * time.Minute
	defaultHostReadTimeout   = 2 * time.Minute
)

// NewHostResource is the fediversity_host resource: a NixOS machine of the
// hosting provider, reached over SSH with a pinned host key.
func NewHostResource() resource.Resource {
	return &hostResource{}
}

type hostResource struct {
	data *providerData
}

type hostResourceModel struct {
	ID       types.String   `tfsdk:"id"`
	Endpoint types.Object   `tfsdk:"endpoint"`
	Timeouts timeouts.Value `tfsdk:"timeouts"`
	hostAddressModel
	hostFactsModel
}

func (r *hostResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host"
}

func (r *hostResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := hostFactResourceAttributes()
	attrs["id"] = schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: "`address:port` of the host.",
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["address"] = schema.StringAttribute{
		Required:            true,
		MarkdownDescription: addressDescription + " Changing it stands for another machine and replaces the resource.",
		Validators:          []validator.String{addressValidator()},
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	attrs["port"] = schema.Int64Attribute{
		Optional:            true,
		Computed:            true,
		Default:             int64default.StaticInt64(defaultPort),
		MarkdownDescription: portDescription,
		Validators:          []validator.Int64{int64validator.Between(1, 65535)},
		PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
	}
	attrs["endpoint"] = schema.ObjectAttribute{
		Computed: true, AttributeTypes: connectionTypes,
		MarkdownDescription: "How to reach the host: pass it to `fediversity_runtime.host`.",
	}
	attrs["user"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: userDescription,
		Validators:          []validator.String{userValidator()},
	}
	attrs["host_key"] = schema.StringAttribute{
		Optional:            true,
		MarkdownDescription: hostKeyDescription,
		Validators:          []validator.String{hostKeyValidator()},
	}
	attrs["minimum_nix_version"] = schema.StringAttribute{
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(defaultMinimumNixVersion),
		MarkdownDescription: minimumNixDescription,
		Validators:          []validator.String{versionValidator()},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A NixOS machine of the hosting provider, reached over SSH with a pinned host key. " +
			"Creating it connects, verifies the host key, probes the machine and fails unless the provider can deploy to it. " +
			"Reading refreshes the facts; a host that is briefly unreachable keeps its state with a warning. " +
			"Destroying it only removes it from state: nothing on the machine is touched.",
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Read: true, Update: true}),
		},
	}
}

func (r *hostResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan refuses a host with no pinned key before anything connects.
func (r *hostResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy: nothing to check
	}
	var plan hostResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(plan.checkHostKeyPinned(r.data)...)
	connection, diags := plan.object(ctx)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("endpoint"), connection)...)
}

func (r *hostResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.applyPlan(ctx, req.Plan, &resp.State, timeouts.Value.Create)...)
}

func (r *hostResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.applyPlan(ctx, req.Plan, &resp.State, timeouts.Value.Update)...)
}

// timeoutOf reads one of the timeouts block's values.
type timeoutOf func(timeouts.Value, context.Context, time.Duration) (time.Duration, diag.Diagnostics)

// applyPlan is Create and Update alike: connect to the planned host, probe
// it, and save it with its facts only if it can be deployed to.
func (r *hostResource) applyPlan(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, timeout timeoutOf) diag.Diagnostics {
	var m hostResourceModel
	diags := plan.Get(ctx, &m)
	if diags.HasError() {
		return diags
	}
	limit, d := timeout(m.Timeouts, ctx, defaultHostCreateTimeout)
	diags.Append(d...)
	if r.connect(ctx, limit, &m, &diags) {
		diags.Append(state.Set(ctx, m)...)
	}
	return diags
}

// connect verifies the host key, probes the host and fills m's facts. It
// returns false, with diagnostics, when the host cannot be deployed to.
func (r *hostResource) connect(ctx context.Context, timeout time.Duration, m *hostResourceModel, diags *diag.Diagnostics) bool {
	if diags.HasError() {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m.ID = types.StringValue(hostID(m.Address.ValueString(), m.port()))
	connection, d := m.object(ctx)
	diags.Append(d...)
	m.Endpoint = connection
	facts, err := probeHost(ctx, r.data, m.hostAddressModel)
	if err != nil {
		diags.Append(remoteErrorDiagnostic("Connecting to host "+m.ID.ValueString(), err))
		return false
	}
	m.hostFactsModel = facts
	if reasons := facts.notReadyReasons(); len(reasons) > 0 {
		diags.AddAttributeError(path.Root("address"), "Host Not Ready",
			fmt.Sprintf("Host %s answered, but the provider cannot deploy to it:\n%s\n\nFix these on the host, then apply again.",
				m.ID.ValueString(), reasonsDetail(reasons)))
		return false
	}
	return true
}

// Read refreshes the facts. A host that is unreachable for a while (a
// reboot) keeps its last known state with a warning; a changed host key or
// rejected credentials are errors, because they will not heal by waiting.
func (r *hostResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state hostResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Read(ctx, defaultHostReadTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if state.MinimumNixVersion.IsNull() { // imported
		state.MinimumNixVersion = types.StringValue(defaultMinimumNixVersion)
	}
	state.Endpoint, diags = state.object(ctx)
	resp.Diagnostics.Append(diags...)
	r.data.prefetchRuntimes(ctx, state.connectionModel)
	facts, err := probeHost(ctx, r.data, state.hostAddressModel)
	switch {
	case remote.IsTransient(err):
		resp.Diagnostics.AddWarning("Host Unreachable, State Kept",
			fmt.Sprintf("Host %s could not be reached (%v). Its last known facts are kept; the next refresh updates them once it is back.", state.ID.ValueString(), err))
	case err != nil:
		resp.Diagnostics.Append(remoteErrorDiagnostic("Refreshing host "+state.ID.ValueString(), err))
		return
	default:
		state.hostFactsModel = facts
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Delete forgets the host. The machine and everything on it stay as they are.
func (r *hostResource) Delete(ctx context.Context, req resource.DeleteRequest, _ *resource.DeleteResponse) {
	var id types.String
	req.State.GetAttribute(ctx, path.Root("id"), &id)
	tflog.Info(ctx, "forgetting host; nothing on it is touched", map[string]any{"host": id.ValueString()})
}

// ImportState takes "[user@]address[:port]", optionally followed by a space
// and the host key to pin; without one, the known_hosts file must list the host.
func (r *hostResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	m, err := parseHostImportID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(m.checkHostKeyPinned(r.data)...)
	// The framework starts from an all-null state; Read fills in the facts.
	for name, value := range map[string]attr.Value{
		"id":                  types.StringValue(hostID(m.Address.ValueString(), m.port())),
		"address":             m.Address,
		"port":                m.Port,
		"user":                m.User,
		"host_key":            m.HostKey,
		"minimum_nix_version": m.MinimumNixVersion,
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

func parseHostImportID(id string) (hostAddressModel, error) {
	const format = `import ID must be "[user@]address[:port]", optionally followed by a space and the host key, e.g. "root@192.0.2.10:22 ssh-ed25519 AAAA..."`
	target, key, _ := strings.Cut(strings.TrimSpace(id), " ")
	m := hostAddressModel{
		connectionModel: connectionModel{
			Port:    types.Int64Value(defaultPort),
			User:    types.StringNull(),
			HostKey: types.StringNull(),
		},
		MinimumNixVersion: types.StringValue(defaultMinimumNixVersion),
	}
	if user, rest, found := strings.Cut(target, "@"); found {
		if err := checkUser(user); err != nil {
			return m, fmt.Errorf("%s: %w", format, err)
		}
		m.User, target = types.StringValue(user), rest
	}
	address, port, err := splitAddressPort(target)
	if err != nil {
		return m, fmt.Errorf("%s: %w", format, err)
	}
	if err := checkAddress(address); err != nil {
		return m, fmt.Errorf("%s: %w", format, err)
	}
	m.Address, m.Port = types.StringValue(address), types.Int64Value(port)
	if key = strings.TrimSpace(key); key != "" {
		if _, err := parseHostKey(key); err != nil {
			return m, fmt.Errorf("%s: host key %w", format, err)
		}
		m.HostKey = types.StringValue(key)
	}
	return m, nil
}

// splitAddressPort accepts "address", "address:port", "[v6]:port" and a bare IPv6 address.
func splitAddressPort(s string) (string, int64, error) {
	if net.ParseIP(s) != nil || !strings.Contains(s, ":") {
		return s, defaultPort, nil
	}
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseInt(portText, 10, 64)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 1 to 65535", portText)
	}
	return host, port, nil
}
