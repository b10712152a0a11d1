package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

var (
	_ resource.ResourceWithConfigure      = &applicationResource{}
	_ resource.ResourceWithModifyPlan     = &applicationResource{}
	_ resource.ResourceWithImportState    = &applicationResource{}
	_ resource.ResourceWithValidateConfig = &applicationResource{}
)

var subdomainLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewApplicationResource is fediversity_application: one app of one operator.
func NewApplicationResource() resource.Resource {
	return &applicationResource{}
}

type applicationResource struct {
	data *providerData
}

type applicationModel struct {
	ID                  types.String        `tfsdk:"id"`
	Operator            operatorTargetModel `tfsdk:"operator"`
	Kind                types.String        `tfsdk:"kind"`
	Subdomain           types.String        `tfsdk:"subdomain"`
	Version             types.String        `tfsdk:"version"`
	RegistrationsOpen   types.Bool          `tfsdk:"registrations_open"`
	UserLimit           types.Int64         `tfsdk:"user_limit"`
	RetainDataOnDestroy types.Bool          `tfsdk:"retain_data_on_destroy"`
	Running             types.Bool          `tfsdk:"running"`
	URL                 types.String        `tfsdk:"url"`
	DNSRecords          types.List          `tfsdk:"dns_records"`
	Health              types.String        `tfsdk:"health"`
	Timeouts            timeouts.Value      `tfsdk:"timeouts"`
}

// applicationFragmentModel is application-OPERATOR-KIND.json.
type applicationFragmentModel struct {
	Operator  string                   `json:"operator"`
	Kind      string                   `json:"kind"`
	Subdomain string                   `json:"subdomain"`
	Version   string                   `json:"version"`
	Settings  applicationSettingsModel `json:"settings"`
	// HeldBack lists units kept from starting while a migration restores
	// the application's data; absent otherwise.
	HeldBack []string `json:"heldBack,omitempty"`
	// Stopped lists units kept stopped because the configuration says
	// running = false; absent when it runs, so that fragments written
	// before this field existed stay byte for byte what they were.
	Stopped []string `json:"stopped,omitempty"`
}

type applicationSettingsModel struct {
	RegistrationsOpen bool  `json:"registrationsOpen"`
	UserLimit         int64 `json:"userLimit"`
}

func applicationFragmentName(operator, kind string) string {
	return "application-" + operator + "-" + kind + ".json"
}

func (r *applicationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_application"
}

func (r *applicationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One application of one operator. Creating or changing it rebuilds the runtime's system; " +
			"after the switch the application must answer its health check for its domain, else the runtime rolls back and the apply fails naming what answered. " +
			"Applications of one runtime created or changed in the same apply go live together in one build and switch; if one of them fails its health check, that switch rolls back for all of them and each reports the error, which names the one that failed. " +
			"Secrets are generated on the host and never enter state or the Nix store. Destroying it stops the application and keeps its data unless `retain_data_on_destroy = false`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port/runtime/operator/kind`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"operator": operatorTargetAttribute(),
			"kind": schema.StringAttribute{Required: true, MarkdownDescription: "One of " + strings.Join(backquoted(catalogue.Kinds()), ", ") + ".",
				Validators:    []validator.String{stringvalidator.OneOf(catalogue.Kinds()...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"subdomain": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Subdomain of the operator's domain the application answers on. Defaults per kind (Mastodon `social`, Matrix `matrix`, ...; see the `fediversity_applications` data source).",
				Validators:          []validator.String{stringvalidator.RegexMatches(subdomainLabel, "must be one DNS label: lower-case letters, digits and inner '-'")}},
			"version": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Version pin, one of the catalogue's for the kind. Defaults to the newest supported."},
			"registrations_open": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Whether anyone may sign up."},
			"user_limit": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(0),
				MarkdownDescription: "Most accounts the application accepts; `0` means no limit.",
				Validators:          []validator.Int64{int64validator.Between(0, 1000000)}},
			"retain_data_on_destroy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Keep the database, files and secrets on the host when the application is destroyed. Set to `false` only to delete them for good."},
			"running": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "`false` declares the application without starting it: the runtime's system still has its user, configuration, secrets, database and state directory (nothing is deleted), but its service is stopped and not health-checked, and a runtime whose applications are all stopped starts no database server, web server or mail server either. " +
					"Setting it back to `true` starts it, behind the health gate."},
			"url": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the application answers."},
			"dns_records": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: dnsRecordTypes},
				MarkdownDescription: "The record that points the application's domain at its host (A, AAAA or CNAME), with `name`, `type`, `value` and `ttl`."},
			"health": schema.StringAttribute{Computed: true, MarkdownDescription: "`ok`, `stopped` (`running = false`: not asked), or what the health check answered at the last apply or refresh. A refresh that finds it unhealthy plans a repair."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func backquoted(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "`" + w + "`"
	}
	return out
}

func (r *applicationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks the version against the catalogue at plan time.
func (r *applicationResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var kind, version types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("kind"), &kind)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("version"), &version)...)
	if kind.IsUnknown() || kind.IsNull() || version.IsUnknown() || version.IsNull() {
		return
	}
	if err := catalogue.CheckVersion(kind.ValueString(), version.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported Application Version", fmt.Sprintf("version: %v", err))
	}
}

// ModifyPlan plans a repair of an application that the last refresh found
// unhealthy, and fills in the kind's defaults and what follows from them.
func (r *applicationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	if !req.State.Raw.IsNull() {
		planRepair(ctx, req.State, resp)
	}
	if unchangedPlan(req) {
		return
	}
	var plan applicationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Kind.IsUnknown() {
		return
	}
	app, _ := catalogue.Lookup(plan.Kind.ValueString())
	if plan.Subdomain.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("subdomain"), types.StringValue(app.Subdomain))...)
		plan.Subdomain = types.StringValue(app.Subdomain)
	}
	if plan.Version.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("version"), types.StringValue(app.Versions[0]))...)
	}
	if !plan.Operator.Domain.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("url"), types.StringValue(plan.url()))...)
	}
	if !plan.Operator.Domain.IsUnknown() && !plan.Operator.Runtime.Address.IsUnknown() {
		records, diags := plan.dnsRecords(ctx)
		resp.Diagnostics.Append(diags...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("dns_records"), records)...)
	}
}

// planRepair plans to switch again to an application that the last apply
// or refresh found unhealthy (Update repairs it).
func planRepair(ctx context.Context, state tfsdk.State, resp *resource.ModifyPlanResponse) {
	var health types.String
	resp.Diagnostics.Append(state.GetAttribute(ctx, path.Root("health"), &health)...)
	if foundUnhealthy(health) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("health"), types.StringUnknown())...)
	}
}

// foundUnhealthy says whether the last apply or refresh found the
// application failing its health check; a stopped one is not asked.
func foundUnhealthy(health types.String) bool {
	return health.ValueString() != "ok" && health.ValueString() != healthStopped
}

func (m applicationModel) url() string {
	return "https://" + m.Subdomain.ValueString() + "." + m.Operator.Domain.ValueString() + "/"
}

// dnsRecords point the application's domain at its runtime's address.
func (m applicationModel) dnsRecords(ctx context.Context) (types.List, diag.Diagnostics) {
	return dnsRecordList(ctx, []dnsRecord{addressRecord(m.domain(), m.Operator.Runtime.Address.ValueString())})
}

// deployed is the application as the health gate sees it.
func (m applicationModel) deployed() deployedApp {
	return deployedApp{kind: m.Kind.ValueString(), domain: m.domain()}
}

func (m applicationModel) domain() string {
	return m.Subdomain.ValueString() + "." + m.Operator.Domain.ValueString()
}

func (m applicationModel) fragmentName() string {
	return applicationFragmentName(m.Operator.Name.ValueString(), m.Kind.ValueString())
}

func (m applicationModel) fragment() applicationFragmentModel {
	return applicationFragmentModel{
		Operator: m.Operator.Name.ValueString(), Kind: m.Kind.ValueString(), Subdomain: m.Subdomain.ValueString(), Version: m.Version.ValueString(),
		Settings: applicationSettingsModel{RegistrationsOpen: m.RegistrationsOpen.ValueBool(), UserLimit: m.UserLimit.ValueInt64()},
		Stopped:  m.stoppedUnits(),
	}
}

func (m applicationModel) ops(data *providerData) runtimeOps {
	return runtimeOps{data: data, target: m.Operator.Runtime}
}

func (m applicationModel) id(data *providerData) string {
	return m.ops(data).key() + "/" + m.Operator.Name.ValueString() + "/" + m.Kind.ValueString()
}

func (r *applicationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Create, applyMode{create: true})...)
}

// Update also repairs: when the last refresh found the application
// unhealthy, the running system is switched to again even if nothing else
// changed, which restarts what was stopped.
func (r *applicationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var health types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("health"), &health)...)
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Update, applyMode{repair: foundUnhealthy(health)})...)
}

// applyMode says how an apply differs between Create and Update: a created
// resource is in state as soon as its fragment is on the host; an update
// that fails keeps the prior state, which is what still runs.
type applyMode struct {
	create, repair bool
}

// apply writes the application's fragment and deploys the runtime, gated on
// this application's health.
func (r *applicationResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, timeout timeoutOf, mode applyMode) diag.Diagnostics {
	var m applicationModel
	diags := plan.Get(ctx, &m)
	limit, d := timeout(m.Timeouts, ctx, defaultDeployTimeout)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	ops := m.ops(r.data)
	what := fmt.Sprintf("%s of operator %q", m.Kind.ValueString(), m.Operator.Name.ValueString())
	m.ID, m.URL, m.Health = types.StringValue(m.id(r.data)), types.StringValue(m.url()), types.StringValue("deploying")
	m.DNSRecords, d = m.dnsRecords(ctx)
	diags.Append(d...)
	result, err := ops.deployFragment(ctx, m.fragmentName(), m.fragment(), limit, nil, mode.repair, trackCreated(ctx, mode.create, state, m, &diags))
	if err != nil {
		diags.Append(ops.deployDiagnostic("Application Deployment Failed", "Deploying "+what, err))
		return diags
	}
	m.Health, d = r.settle(ctx, ops, m, what, result)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	diags.Append(state.Set(ctx, m)...)
	return diags
}

// settle brings the application to what its running attribute asks once
// its fragment is deployed, and returns its health. A stopped one is
// stopped (see stopApplication). A running one that the switch did not
// check (another resource's deploy already included this fragment, so
// nothing changed) is checked here.
func (r *applicationResource) settle(ctx context.Context, ops runtimeOps, m applicationModel, what string, result nixos.Result) (types.String, diag.Diagnostics) {
	var diags diag.Diagnostics
	if !m.Running.ValueBool() {
		if err := stopApplication(ctx, ops, m, result.System); err != nil {
			diags.AddError("Application Not Stopped", fmt.Sprintf("%s is deployed with running = false but stopping it failed: %v. Apply again, or stop it on the host with systemctl stop.", what, err))
		}
		return types.StringValue(healthStopped), diags
	}
	if !result.Changed {
		if err := ops.appHealth(ctx, m.deployed(), r.data.healthTimeout); err != nil {
			diags.AddError("Application Unhealthy", fmt.Sprintf("%s is deployed but does not answer its health check: %v", what, err))
		}
	}
	return types.StringValue("ok"), diags
}

func (r *applicationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m applicationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior := m
	ops := m.ops(r.data)
	facts, err := ops.facts(ctx)
	if readFailure(err, "application "+m.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	name := m.fragmentName()
	deployed, ok := facts.Deployed[name]
	if !ok || facts.OnDisk[name] == "" {
		resp.State.RemoveResource(ctx)
		return
	}
	var f applicationFragmentModel
	if err := json.Unmarshal(deployed, &f); err != nil {
		resp.Diagnostics.AddError("Unreadable Application State", fmt.Sprintf("%s on the host is not valid JSON (%v); apply again to rewrite it.", name, err))
		return
	}
	m.ID = types.StringValue(m.id(r.data))
	m.Operator.Runtime = ops.observed(facts)
	ops = m.ops(r.data) // an import learns here whether the runtime is a container
	m.Subdomain, m.Version = types.StringValue(f.Subdomain), types.StringValue(f.Version)
	m.RegistrationsOpen, m.UserLimit = types.BoolValue(f.Settings.RegistrationsOpen), types.Int64Value(f.Settings.UserLimit)
	m.URL = types.StringValue(m.url())
	var d diag.Diagnostics
	m.DNSRecords, d = m.dnsRecords(ctx)
	resp.Diagnostics.Append(d...)
	m.Running = types.BoolValue(f.running())
	m.Health = types.StringValue(observedHealth(ctx, ops, m))
	if m.RetainDataOnDestroy.IsNull() {
		m.RetainDataOnDestroy = types.BoolValue(true)
	}
	resp.Diagnostics.Append(setIfChanged(ctx, &resp.State, prior, m)...)
}

// Delete removes the application from the runtime and rebuilds it; its data
// stays unless retain_data_on_destroy is false.
func (r *applicationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m applicationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	limit, d := m.Timeouts.Delete(ctx, defaultDeployTimeout)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ops := m.ops(r.data)
	if err := ops.removeFragment(ctx, m.fragmentName()); err != nil {
		resp.Diagnostics.Append(remoteErrorDiagnostic("Removing application "+m.ID.ValueString(), err))
		return
	}
	if _, err := ops.deploy(ctx, limit, nil, false); err != nil {
		resp.Diagnostics.Append(ops.deployDiagnostic("Application Removal Failed", "Rebuilding without "+m.ID.ValueString(), err))
		return
	}
	if !m.RetainDataOnDestroy.ValueBool() {
		if err := deleteApplicationData(ctx, ops, m); err != nil {
			resp.Diagnostics.AddError("Application Data Not Deleted", fmt.Sprintf("%s was removed but deleting its data failed: %v. Delete it by hand or apply again.", m.ID.ValueString(), err))
		}
	}
}

// ImportState takes "[user@]address[:port]/runtime/operator/kind",
// optionally followed by a space and the host key to pin. The operator's
// domain is read back by the first refresh.
func (r *applicationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts, err := parseNestedImportID(req.ID, 3)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf(`import ID must be "[user@]address[:port]/runtime/operator/kind", optionally followed by a space and the host key: %v`, err))
		return
	}
	if _, ok := catalogue.Lookup(parts.names[2]); !ok {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf("%q is not an application kind: choose one of %s", parts.names[2], strings.Join(catalogue.Kinds(), ", ")))
		return
	}
	operator := operatorTargetModel{
		Runtime: runtimeTargetModel{Host: parts.host, Name: types.StringValue(parts.names[0])},
		Name:    types.StringValue(parts.names[1]),
		Domain:  types.StringUnknown(),
	}
	domain, err := r.operatorDomain(ctx, operator)
	if err != nil {
		resp.Diagnostics.Append(remoteErrorDiagnostic("Reading the operator of the imported application", err))
		return
	}
	operator.Domain = types.StringValue(domain)
	for name, value := range map[string]attr.Value{
		"kind": types.StringValue(parts.names[2]), "operator": mustObject(ctx, operatorTargetTypes, operator),
		"retain_data_on_destroy": types.BoolValue(true),
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

// operatorDomain reads an operator's domain from its deployed fragment.
func (r *applicationResource) operatorDomain(ctx context.Context, operator operatorTargetModel) (string, error) {
	facts, err := (runtimeOps{data: r.data, target: operator.Runtime}).facts(ctx)
	if err != nil {
		return "", err
	}
	var f operatorFragmentModel
	content, ok := facts.Deployed[operatorFragmentName(operator.Name.ValueString())]
	if !ok {
		return "", fmt.Errorf("operator %q is not deployed on runtime %q", operator.Name.ValueString(), operator.Runtime.Name.ValueString())
	}
	if err := json.Unmarshal(content, &f); err != nil {
		return "", err
	}
	return f.Domain, nil
}

// deleteApplicationData removes what the application kept on the host: its
// state directory, its database and its secrets. Only on explicit request.
func deleteApplicationData(ctx context.Context, ops runtimeOps, m applicationModel) error {
	app, _ := catalogue.Lookup(m.Kind.ValueString())
	c, err := ops.client(ctx)
	if err != nil {
		return err
	}
	secrets := "/var/lib/fediversity-secrets/" + m.Operator.Name.ValueString() + "/" + m.Kind.ValueString()
	_, err = c.Output(ctx, ops.inRuntime("sh", "-c", deleteDataScript, "sh", app.StateDir, secrets, app.Database)...)
	return err
}

// deleteDataScript: arguments state_dir secrets_dir database. The
// database server is not running when every application left on the
// runtime is stopped (running = false): it is started for the drop, and
// left running, as a switch would leave it.
const deleteDataScript = `
set -eu
rm -rf -- "$1" "$2"
if command -v dropdb >/dev/null 2>&1; then
  if ! systemctl is-active -q postgresql; then
    systemctl start postgresql
    tries=0
    until pg_isready -q; do
      tries=$((tries + 1))
      [ "$tries" -lt 600 ] || break
      sleep 0.1
    done
  fi
  runuser -u postgres -- dropdb --if-exists -- "$3"
fi
`
