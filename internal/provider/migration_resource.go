package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	tfpath "github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
	"github.com/fediversity/terraform-provider-fediversity/internal/migrate"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

var (
	_ resource.ResourceWithConfigure      = &migrationResource{}
	_ resource.ResourceWithValidateConfig = &migrationResource{}
	_ resource.ResourceWithModifyPlan     = &migrationResource{}
)

const defaultMigrationTimeout = 2 * time.Hour

// NewMigrationResource is fediversity_migration: moving one operator, with
// all its data, from a runtime (possibly another hosting provider's) to a
// runtime of this configuration.
func NewMigrationResource() resource.Resource {
	return &migrationResource{}
}

type migrationResource struct {
	data *providerData
}

type migrationModel struct {
	ID           types.String         `tfsdk:"id"`
	Operator     types.String         `tfsdk:"operator"`
	Source       migrationSourceModel `tfsdk:"source"`
	Target       runtimeTargetModel   `tfsdk:"target"`
	Finalize     types.Bool           `tfsdk:"finalize"`
	Phase        types.String         `tfsdk:"phase"`
	Applications types.List           `tfsdk:"applications"`
	Moves        types.List           `tfsdk:"moves"`
	DNSRecords   types.List           `tfsdk:"dns_records"`
	Timeouts     timeouts.Value       `tfsdk:"timeouts"`
}

// migrationSourceModel is where the operator comes from, with the
// credentials its hosting provider gave.
type migrationSourceModel struct {
	Host           connectionModel `tfsdk:"host"`
	Runtime        types.String    `tfsdk:"runtime"`
	PrivateKey     types.String    `tfsdk:"private_key"`
	PrivateKeyFile types.String    `tfsdk:"private_key_file"`
}

var (
	migratedAppTypes = map[string]attr.Type{"kind": types.StringType, "subdomain": types.StringType, "version": types.StringType}
	moveTypes        = map[string]attr.Type{"what": types.StringType, "bytes": types.Int64Type}
)

func (r *migrationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_migration"
}

func (r *migrationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Moves one operator, with its applications' databases, files, secrets and mail, from a source runtime (another hosting provider's, reached with its credentials) to a runtime of this configuration. " +
			"Phases, recorded in a journal on the target host so that an interrupted apply resumes: preflight (every secret the apps need is at the source; the target's databases are empty), deploy on the target with the apps held back, stop the source's apps, stream the data host to host, verify against the source's manifest (SHA-256 per file, row counts per table), start on the target behind its health gate. " +
			"The source is never changed beyond stopping its apps (`systemctl start` them, or apply the old configuration, to abandon the migration). `finalize = true`, a later apply, deletes the source's data after a last comparison; destroying this resource deletes nothing.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port/runtime/operator` of the target.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"operator": schema.StringAttribute{Required: true, MarkdownDescription: "The operator's name, the same at the source and the target.",
				Validators:    []validator.String{stringvalidator.RegexMatches(safeName, "must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"source": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "The runtime the operator leaves, and how to reach its host.",
				Attributes: map[string]schema.Attribute{
					"host": connectionAttribute("The source's host: address, port, user and its pinned `host_key`."),
					"runtime": schema.StringAttribute{Required: true, MarkdownDescription: "The source runtime's name.",
						PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
					"private_key": schema.StringAttribute{Optional: true, Sensitive: true,
						MarkdownDescription: "Private key the source's hosting provider authorised, inline. Unset, the provider's own credentials are used."},
					"private_key_file": schema.StringAttribute{Optional: true,
						MarkdownDescription: "File of the private key the source's hosting provider authorised."},
				}},
			"target": runtimeTargetAttribute(),
			"finalize": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Delete the operator's data at the source. Refused until the target is verified and running, and when the source changed since it was copied."},
			"phase": schema.StringAttribute{Computed: true, MarkdownDescription: "The last phase done: `preflight`, `deploy-held`, `stop-source`, `copy`, `verify`, `start` or `finalize`."},
			"applications": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: migratedAppTypes},
				MarkdownDescription: "The applications moved, with `kind`, `subdomain` and `version`, known from the plan on: declare `fediversity_application` resources with the same values to adopt them without a rebuild.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()}},
			"moves": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: moveTypes},
				MarkdownDescription: "What the migration will move, measured at the source when it is planned (`what`: a directory in the runtime or a database; `bytes`), so that the downtime can be announced.",
				PlanModifiers:       []planmodifier.List{listplanmodifier.UseStateForUnknown()}},
			"dns_records": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: dnsRecordTypes},
				MarkdownDescription: "The records to point at the target once the migration is done: the applications' and the mail's (with the DKIM key the operator brought along)."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true}),
		},
	}
}

// ValidateConfig refuses a migration whose source is its target.
func (r *migrationResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var source, target types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, tfpath.Root("source"), &source)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, tfpath.Root("target"), &target)...)
	if resp.Diagnostics.HasError() || source.IsUnknown() || target.IsUnknown() {
		return // an unknown value is checked when it is known
	}
	var src migrationSourceModel
	var dst runtimeTargetModel
	resp.Diagnostics.Append(source.As(ctx, &src, basetypes.ObjectAsOptions{})...)
	resp.Diagnostics.Append(target.As(ctx, &dst, basetypes.ObjectAsOptions{})...)
	if resp.Diagnostics.HasError() || anyUnknown(src.Host.Address, src.Host.Port, src.Runtime, dst.Host.Address, dst.Host.Port, dst.Name) {
		return
	}
	if src.Host.Address.Equal(dst.Host.Address) && src.Host.Port.Equal(dst.Host.Port) && src.Runtime.Equal(dst.Name) {
		resp.Diagnostics.AddAttributeError(tfpath.Root("source"), "Migration Onto Itself",
			fmt.Sprintf("source is the target: runtime %q on %s. Point target at the runtime the operator moves to.", dst.Name.ValueString(), dst.Host.Address.ValueString()))
	}
}

// ModifyPlan measures, when the migration is planned, what it will move
// and which applications: the source is all it needs to read (the target
// may be created by the same apply).
func (r *migrationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || !req.State.Raw.IsNull() || r.data == nil || r.data.pool == nil {
		return
	}
	var operator types.String
	var source types.Object
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, tfpath.Root("operator"), &operator)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, tfpath.Root("source"), &source)...)
	if resp.Diagnostics.HasError() || operator.IsUnknown() || source.IsUnknown() {
		return
	}
	var src migrationSourceModel
	resp.Diagnostics.Append(source.As(ctx, &src, basetypes.ObjectAsOptions{})...)
	if resp.Diagnostics.HasError() || anyUnknown(src.Host.Address, src.Host.Port, src.Host.User, src.Host.HostKey, src.Runtime, src.PrivateKey, src.PrivateKeyFile) {
		return
	}
	moves, apps, err := r.measure(ctx, operator.ValueString(), src)
	if err != nil {
		resp.Diagnostics.AddAttributeWarning(tfpath.Root("moves"), "Migration Size Unknown",
			fmt.Sprintf("What the migration of operator %q will move could not be measured at plan time: %v", operator.ValueString(), err))
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, tfpath.Root("moves"), moves)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, tfpath.Root("applications"), apps)...)
}

// measure reads from the source what the migration will move, and which
// applications.
func (r *migrationResource) measure(ctx context.Context, operator string, src migrationSourceModel) (moves, apps types.List, err error) {
	p, sourceData, err := r.prepareSource(ctx, operator, src)
	if sourceData != nil && sourceData != r.data {
		defer sourceData.pool.Close()
	}
	if err != nil {
		return moves, apps, err
	}
	if moves, err = p.moves(ctx); err != nil {
		return moves, apps, err
	}
	apps, diags := p.applications(ctx)
	if diags.HasError() {
		return moves, apps, fmt.Errorf("%v", diags)
	}
	return moves, apps, nil
}

// moves measures at the source what the migration will move.
func (p preparedMigration) moves(ctx context.Context) (types.List, error) {
	sizes, err := p.migration.Sizes(ctx)
	if err != nil {
		return types.List{}, err
	}
	type move struct {
		What  string `tfsdk:"what"`
		Bytes int64  `tfsdk:"bytes"`
	}
	list := make([]move, len(sizes))
	for i, s := range sizes {
		list[i] = move{What: s.What, Bytes: s.Bytes}
	}
	moves, diags := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: moveTypes}, list)
	if diags.HasError() {
		return moves, fmt.Errorf("%v", diags)
	}
	return moves, nil
}

func (r *migrationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *migrationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Create)...)
}

// Update resumes a migration that stopped, or finalizes it.
func (r *migrationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.Append(r.apply(ctx, req.Plan, &resp.State, timeouts.Value.Update)...)
}

// apply runs the migration within its timeout and records how far it got.
func (r *migrationResource) apply(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, timeout timeoutOf) diag.Diagnostics {
	var m migrationModel
	diags := plan.Get(ctx, &m)
	limit, d := timeout(m.Timeouts, ctx, defaultMigrationTimeout)
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	diags.Append(r.run(ctx, &m, m.Finalize.ValueBool())...)
	if m.Applications.IsUnknown() { // the source could not be read
		m.Applications = types.ListNull(types.ObjectType{AttrTypes: migratedAppTypes})
	}
	diags.Append(state.Set(ctx, m)...)
	return diags
}

// run resumes the migration from its journal, and finalizes when asked.
// The model gets the phase reached even when a phase fails, so that the
// state says where it stopped.
func (r *migrationResource) run(ctx context.Context, m *migrationModel, finalize bool) diag.Diagnostics {
	var diags diag.Diagnostics
	m.ID = types.StringValue(m.target(r.data).key() + "/" + m.Operator.ValueString())
	m.Phase = types.StringValue("")
	m.DNSRecords = types.ListNull(types.ObjectType{AttrTypes: dnsRecordTypes})
	mig, sourceData, err := r.prepare(ctx, m)
	if sourceData != nil && sourceData != r.data {
		defer sourceData.pool.Close()
	}
	if m.Moves.IsUnknown() { // not measured at plan time: measured now, before anything moves
		m.Moves = types.ListNull(types.ObjectType{AttrTypes: moveTypes})
		if err == nil {
			if moves, sizeErr := mig.moves(ctx); sizeErr == nil {
				m.Moves = moves
			}
		}
	}
	if err != nil {
		diags.Append(remoteErrorDiagnostic("Preparing the migration of operator "+m.Operator.ValueString(), err))
		return diags
	}
	if err := mig.checkTarget(ctx); err != nil {
		diags.AddError("Migration Refused", fmt.Sprintf("Nothing was changed at the source or the target: %v", err))
		return diags
	}
	journal, err := mig.migration.Run(ctx)
	m.Phase = types.StringValue(journal.Phase())
	if err != nil {
		diags.AddError("Migration Stopped", fmt.Sprintf("Migrating operator %q from %s stopped; applying again resumes after phase %q:\n%v",
			m.Operator.ValueString(), mig.migration.SourceName, journal.Phase(), err))
		return diags
	}
	if finalize {
		if err := mig.migration.Finalize(ctx); err != nil {
			diags.AddAttributeError(tfpath.Root("finalize"), "Finalize Refused", fmt.Sprintf("The source's data of operator %q was not deleted: %v", m.Operator.ValueString(), err))
			return diags
		}
		m.Phase = types.StringValue(migrate.PhaseFinalize)
	}
	diags.Append(mig.outputs(ctx, m)...)
	return diags
}

func (m migrationModel) target(data *providerData) runtimeOps {
	return runtimeOps{data: data, target: m.Target}
}

// preparedMigration is a migration with what the provider knows of it.
type preparedMigration struct {
	migration migrate.Migration
	target    runtimeOps
	operator  operatorFragmentModel
	apps      []applicationFragmentModel
}

// prepare reads the operator at the source and describes its migration.
func (r *migrationResource) prepare(ctx context.Context, m *migrationModel) (preparedMigration, *providerData, error) {
	p, sourceData, err := r.prepareSource(ctx, m.Operator.ValueString(), m.Source)
	if err != nil {
		return p, sourceData, err
	}
	p.target = m.target(r.data)
	targetClient, err := p.target.client(ctx)
	if err != nil {
		return p, sourceData, err
	}
	p.migration.Target, p.migration.Deploy = endpointOf(targetClient, m.Target), p.deploy
	return p, sourceData, nil
}

// prepareSource reads the operator at the source: all a plan needs.
func (r *migrationResource) prepareSource(ctx context.Context, operator string, src migrationSourceModel) (preparedMigration, *providerData, error) {
	sourceData, err := r.data.withKey(src.PrivateKey, src.PrivateKeyFile)
	if err != nil {
		return preparedMigration{}, nil, fmt.Errorf("source credentials: %w", err)
	}
	source := runtimeOps{data: sourceData, target: runtimeTargetModel{Host: src.Host, Name: src.Runtime}}
	facts, err := source.facts(ctx)
	if err != nil {
		return preparedMigration{}, sourceData, err
	}
	var p preparedMigration
	if err := p.readOperator(facts, operator); err != nil {
		return p, sourceData, fmt.Errorf("at the source %s: %w", source.key(), err)
	}
	sourceClient, err := source.client(ctx)
	if err != nil {
		return p, sourceData, err
	}
	p.migration = migrate.Migration{
		Operator:       p.describe(),
		Source:         endpointOf(sourceClient, source.observed(facts)),
		SourceName:     source.key(),
		StopSourceMail: facts.Container != "",
	}
	return p, sourceData, nil
}

// checkTarget refuses a migration that has not started yet when the
// target cannot run an application's version (this provider deploys the
// target), or already has an operator of that name, whose desired state
// the migration would take over.
func (p preparedMigration) checkTarget(ctx context.Context) error {
	c, err := p.target.client(ctx)
	if err != nil {
		return err
	}
	journal, err := migrate.ReadJournal(ctx, c, p.operator.Name)
	if err != nil || journal.Has(migrate.PhasePreflight) {
		return err
	}
	for _, app := range p.apps {
		if err := catalogue.CheckVersion(app.Kind, app.Version); err != nil {
			return fmt.Errorf("the source runs a version the target cannot: %w", err)
		}
	}
	facts, err := p.target.facts(ctx)
	if err != nil {
		return err
	}
	if facts.OnDisk[operatorFragmentName(p.operator.Name)] != "" {
		return fmt.Errorf("the target runtime already has an operator %q; remove it there first, or migrate into another runtime", p.operator.Name)
	}
	return nil
}

// readOperator takes the operator's fragment and its applications' from
// what the source runs.
func (p *preparedMigration) readOperator(facts nixos.RuntimeFacts, name string) error {
	content, ok := facts.Deployed[operatorFragmentName(name)]
	if !ok {
		return fmt.Errorf("no operator %q runs there", name)
	}
	if err := json.Unmarshal(content, &p.operator); err != nil {
		return err
	}
	for file, content := range facts.Deployed {
		var app applicationFragmentModel
		if !strings.HasPrefix(file, "application-") || json.Unmarshal(content, &app) != nil || app.Operator != name {
			continue
		}
		app.HeldBack = nil
		p.apps = append(p.apps, app)
	}
	sort.Slice(p.apps, func(i, j int) bool { return p.apps[i].Kind < p.apps[j].Kind })
	return nil
}

// describe is the operator as the migration moves it.
func (p preparedMigration) describe() migrate.Operator {
	op := migrate.Operator{Name: p.operator.Name, Domain: p.operator.Domain}
	for _, a := range p.apps {
		app, _ := catalogue.Lookup(a.Kind)
		op.Apps = append(op.Apps, migrate.App{
			Kind: a.Kind, Service: app.Service, StateDir: app.StateDir, Secrets: app.Secrets,
			SecretsDir: path.Join(secretsRoot, a.Operator, a.Kind),
			Database:   migrate.Database{Name: app.Database, Owner: app.Database, SkipData: app.MigrationSkipsData},
		})
	}
	return op
}

// secretsRoot is where the application modules keep secrets (lib.nix).
const secretsRoot = "/var/lib/fediversity-secrets"

// deploy writes the operator's and its applications' fragments on the
// target, as fediversity_operator and fediversity_application would (so
// that they adopt them unchanged), and deploys the target runtime.
func (p preparedMigration) deploy(ctx context.Context, heldBack bool) error {
	if err := p.target.writeFragment(ctx, operatorFragmentName(p.operator.Name), p.operator); err != nil {
		return err
	}
	for _, app := range p.apps {
		if heldBack {
			entry, _ := catalogue.Lookup(app.Kind)
			app.HeldBack = []string{entry.Service}
		}
		if err := p.target.writeFragment(ctx, applicationFragmentName(app.Operator, app.Kind), app); err != nil {
			return err
		}
	}
	_, err := p.target.deploy(ctx, defaultDeployTimeout, nil, false)
	return err
}

// outputs are what the configuration needs after the migration: the
// applications to adopt (as planned, when the plan knew them) and the DNS
// records to switch.
func (p preparedMigration) outputs(ctx context.Context, m *migrationModel) diag.Diagnostics {
	var diags, d diag.Diagnostics
	address, err := p.target.webAddress(ctx)
	if err != nil {
		diags.Append(remoteErrorDiagnostic("Reading the target's address", err))
		return diags
	}
	operator := operatorModel{Name: types.StringValue(p.operator.Name), Domain: types.StringValue(p.operator.Domain),
		ContactEmail: types.StringValue(p.operator.ContactEmail), Runtime: p.target.target}
	records, err := operator.dnsRecords(ctx, p.target)
	if err != nil {
		diags.Append(remoteErrorDiagnostic("Reading the DKIM key at the target", err))
		return diags
	}
	for _, a := range p.apps {
		records = append(records, addressRecord(a.Subdomain+"."+p.operator.Domain, address))
	}
	if m.Applications.IsUnknown() || m.Applications.IsNull() {
		m.Applications, d = p.applications(ctx)
		diags.Append(d...)
	}
	m.DNSRecords, d = dnsRecordList(ctx, records)
	diags.Append(d...)
	return diags
}

// applications lists the operator's applications as the source runs them.
func (p preparedMigration) applications(ctx context.Context) (types.List, diag.Diagnostics) {
	type migratedApp struct {
		Kind      string `tfsdk:"kind"`
		Subdomain string `tfsdk:"subdomain"`
		Version   string `tfsdk:"version"`
	}
	apps := make([]migratedApp, len(p.apps))
	for i, a := range p.apps {
		apps[i] = migratedApp{Kind: a.Kind, Subdomain: a.Subdomain, Version: a.Version}
	}
	return types.ListValueFrom(ctx, types.ObjectType{AttrTypes: migratedAppTypes}, apps)
}

// Read keeps the state: the journal on the target is what a later apply
// reads, and a migration has nothing else to drift.
func (r *migrationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m migrationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := m.target(r.data).client(ctx)
	if readFailure(err, "migration "+m.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	journal, err := migrate.ReadJournal(ctx, c, m.Operator.ValueString())
	if readFailure(err, "migration "+m.ID.ValueString(), &resp.Diagnostics) {
		return
	}
	m.Phase = types.StringValue(journal.Phase())
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// Delete deletes nothing: the data is the target's now, and the source's
// stays until a finalize; the journal stays on the target, so that a new
// migration resumes rather than copies again.
func (r *migrationResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// endpointOf is a runtime as the migration reaches it on its host.
func endpointOf(c migrate.Runner, t runtimeTargetModel) migrate.Endpoint {
	e := migrate.Endpoint{Host: c, Root: "/"}
	if t.isContainer() {
		e.Root, e.Container = path.Join(containersRoot, t.Container.ValueString()), t.Container.ValueString()
	}
	return e
}
