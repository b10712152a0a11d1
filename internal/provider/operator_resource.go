package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/fediversity/terraform-provider-fediversity/internal/secrets"
)

var (
	_ resource.ResourceWithConfigure   = &operatorResource{}
	_ resource.ResourceWithModifyPlan  = &operatorResource{}
	_ resource.ResourceWithImportState = &operatorResource{}
)

var (
	domainName   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	emailAddress = regexp.MustCompile(`^[A-Za-z0-9._%+-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// NewOperatorResource is fediversity_operator: an association, school or
// club with its domain and e-mail, on a runtime.
func NewOperatorResource() resource.Resource {
	return &operatorResource{}
}

type operatorResource struct {
	data *providerData
}

type operatorModel struct {
	ID           types.String       `tfsdk:"id"`
	Name         types.String       `tfsdk:"name"`
	Runtime      runtimeTargetModel `tfsdk:"runtime"`
	Domain       types.String       `tfsdk:"domain"`
	ContactEmail types.String       `tfsdk:"contact_email"`
	Target       types.Object       `tfsdk:"target"`
	DNSRecords   types.List         `tfsdk:"dns_records"`
	Timeouts     timeouts.Value     `tfsdk:"timeouts"`
}

// operatorFragmentModel is operator-NAME.json.
type operatorFragmentModel struct {
	Name         string `json:"name"`
	Domain       string `json:"domain"`
	ContactEmail string `json:"contactEmail"`
}

func operatorFragmentName(name string) string { return "operator-" + name + ".json" }

func (r *operatorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_operator"
}

func (r *operatorResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An operator (an association, a school, a club) on a runtime: its name, domain and contact. " +
			"Creating it adds its part to the runtime's system and rebuilds it; its applications are `fediversity_application` resources. " +
			"Destroying it removes its part from the system and keeps its data on the host.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port/runtime/name`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Identifier of the operator on its runtime: lower-case letters, digits and `-`.",
				Validators:    []validator.String{stringvalidator.RegexMatches(safeName, "must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"runtime": runtimeTargetAttribute(),
			"domain": schema.StringAttribute{Required: true, MarkdownDescription: "The operator's domain; applications live on its subdomains.",
				Validators: []validator.String{stringvalidator.RegexMatches(domainName, "must be a lower-case DNS name such as \"club.example.org\"")}},
			"contact_email": schema.StringAttribute{Required: true, MarkdownDescription: "Where the hosting provider reaches the operator.",
				Validators: []validator.String{stringvalidator.RegexMatches(emailAddress, "must be an e-mail address such as \"board@club.example.org\"")}},
			"target": schema.ObjectAttribute{Computed: true, AttributeTypes: operatorTargetTypes,
				MarkdownDescription: "Pass this to `fediversity_application.operator`."},
			"dns_records": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: dnsRecordTypes},
				MarkdownDescription: "What the operator's domain must publish for its mail: the mail host (A, AAAA or CNAME), MX, SPF, DKIM (the public half of a key generated on the host) and DMARC. Each has `name`, `type`, `value` and `ttl`, ready for a DNS provider's record resource. Applications list their own records."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *operatorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan keeps target known at plan time.
func (r *operatorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || unchangedPlan(req) {
		return
	}
	var plan operatorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	target, diags := plan.target(ctx)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("target"), target)...)
}

func (m operatorModel) target(ctx context.Context) (types.Object, diag.Diagnostics) {
	t := operatorTargetModel{Runtime: m.Runtime, Name: m.Name, Domain: m.Domain}
	h := m.Runtime.Host
	return objectOf(ctx, operatorTargetTypes, t, h.Address, h.Port, h.User, h.HostKey, m.Runtime.Name, m.Name, m.Domain)
}

func (m operatorModel) fragment() operatorFragmentModel {
	return operatorFragmentModel{Name: m.Name.ValueString(), Domain: m.Domain.ValueString(), ContactEmail: m.ContactEmail.ValueString()}
}

func (m operatorModel) ops(data *providerData) runtimeOps {
	return runtimeOps{data: data, target: m.Runtime}
}

func (r *operatorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Create, true)...)
}

func (r *operatorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Update, false)...)
}

// apply writes the operator's fragment and deploys; create says whether the
// resource goes into state before the deploy (a failed update keeps the
// prior state, which is what still runs).
func (r *operatorResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, timeout timeoutOf, create bool) diag.Diagnostics {
	var m operatorModel
	diags := plan.Get(ctx, &m)
	limit, d := timeout(m.Timeouts, ctx, defaultDeployTimeout)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	ops := m.ops(r.data)
	what := fmt.Sprintf("operator %q", m.Name.ValueString())
	m.ID = types.StringValue(ops.key() + "/" + m.Name.ValueString())
	m.Target, d = m.target(ctx)
	diags.Append(d...)
	if m.DNSRecords.IsUnknown() {
		m.DNSRecords = types.ListNull(types.ObjectType{AttrTypes: dnsRecordTypes})
	}
	if _, err := ops.deployFragment(ctx, operatorFragmentName(m.Name.ValueString()), m.fragment(), limit, nil, false, trackCreated(ctx, create, state, m, &diags)); err != nil {
		diags.Append(ops.deployDiagnostic("Operator Deployment Failed", "Deploying "+what, err))
		return diags
	}
	records, err := m.dnsRecords(ctx, ops)
	if err != nil {
		diags.Append(remoteErrorDiagnostic("Reading the DKIM public key of "+what, err))
		return diags
	}
	m.DNSRecords, d = dnsRecordList(ctx, records)
	diags.Append(d...)
	diags.Append(state.Set(ctx, m)...)
	return diags
}

// dnsRecords reads the public half of the operator's DKIM key, generated on
// the host when its mail was first activated.
func (m operatorModel) dnsRecords(ctx context.Context, ops runtimeOps) ([]dnsRecord, error) {
	c, err := ops.client(ctx)
	if err != nil {
		return nil, err
	}
	pem, err := secrets.PublicKey(ctx, c, ops.hostPath(dkimKeyPath(m.Domain.ValueString())))
	if err != nil {
		return nil, err
	}
	key, err := pemBody(pem)
	if err != nil {
		return nil, err
	}
	address, err := ops.webAddress(ctx)
	if err != nil {
		return nil, err
	}
	return mailRecords(m.Domain.ValueString(), address, key, m.ContactEmail.ValueString()), nil
}

func (r *operatorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m operatorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior := m
	name := operatorFragmentName(m.Name.ValueString())
	facts, err := m.ops(r.data).facts(ctx)
	if readFailure(err, "operator "+m.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	deployed, ok := facts.Deployed[name]
	if !ok || facts.OnDisk[name] == "" {
		resp.State.RemoveResource(ctx) // removed or rolled back by hand: plan to add it again
		return
	}
	var f operatorFragmentModel
	if err := json.Unmarshal(deployed, &f); err != nil {
		resp.Diagnostics.AddError("Unreadable Operator State", fmt.Sprintf("%s on the host is not valid JSON (%v); apply again to rewrite it.", name, err))
		return
	}
	m.ID = types.StringValue(m.ops(r.data).key() + "/" + m.Name.ValueString())
	m.Runtime = m.ops(r.data).observed(facts)
	if m.DNSRecords.IsNull() || f.Domain != m.Domain.ValueString() || f.ContactEmail != m.ContactEmail.ValueString() { // imported, or changed by hand
		m.Domain, m.ContactEmail = types.StringValue(f.Domain), types.StringValue(f.ContactEmail)
		if records, err := m.dnsRecords(ctx, m.ops(r.data)); err == nil {
			var d diag.Diagnostics
			m.DNSRecords, d = dnsRecordList(ctx, records)
			resp.Diagnostics.Append(d...)
		}
	}
	var d diag.Diagnostics
	m.Target, d = m.target(ctx)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(setIfChanged(ctx, &resp.State, prior, m)...)
}

// Delete removes the operator's part from the runtime and rebuilds it. Its
// data (databases, files, mail, secrets) stays on the host.
func (r *operatorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m operatorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	limit, d := m.Timeouts.Delete(ctx, defaultDeployTimeout)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ops := m.ops(r.data)
	if err := ops.removeFragment(ctx, operatorFragmentName(m.Name.ValueString())); err != nil {
		resp.Diagnostics.Append(remoteErrorDiagnostic("Removing operator "+m.ID.ValueString(), err))
		return
	}
	if _, err := ops.deploy(ctx, limit, nil, false); err != nil {
		resp.Diagnostics.Append(ops.deployDiagnostic("Operator Removal Failed", "Rebuilding without operator "+m.Name.ValueString(), err))
	}
}

// ImportState takes "[user@]address[:port]/runtime/name", optionally
// followed by a space and the host key to pin.
func (r *operatorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts, err := parseNestedImportID(req.ID, 2)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf(`import ID must be "[user@]address[:port]/runtime/name", optionally followed by a space and the host key: %v`, err))
		return
	}
	runtime := runtimeTargetModel{Host: parts.host, Name: types.StringValue(parts.names[0])}
	for name, value := range map[string]attr.Value{
		"id":      types.StringValue(req.ID[:len(req.ID)-len(parts.key)]),
		"name":    types.StringValue(parts.names[1]),
		"runtime": mustObject(ctx, runtimeTargetTypes, runtime),
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), value)...)
	}
}

// nestedImportID is "[user@]address[:port]/name/name... [host key]".
type nestedImportID struct {
	host  connectionModel
	names []string
	key   string // the trailing " host key", if any
}

func parseNestedImportID(id string, names int) (nestedImportID, error) {
	var parsed nestedImportID
	target := id
	if i := strings.Index(id, " "); i >= 0 {
		target, parsed.key = id[:i], id[i:]
	}
	parts := strings.Split(target, "/")
	if len(parts) != names+1 {
		return parsed, fmt.Errorf("want %d names after the host, got %q", names, target)
	}
	for _, n := range parts[1:] {
		if !safeName.MatchString(n) && !kindName.MatchString(n) {
			return parsed, fmt.Errorf("%q is not a name", n)
		}
	}
	host, err := parseHostImportID(parts[0] + parsed.key)
	if err != nil {
		return parsed, err
	}
	parsed.host, parsed.names = host.connectionModel, parts[1:]
	return parsed, nil
}

var kindName = regexp.MustCompile(`^[a-z]+$`)
