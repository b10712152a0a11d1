package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = &hostDataSource{}

// NewHostDataSource is the fediversity_host data source: the facts of a
// machine that this configuration does not manage.
func NewHostDataSource() datasource.DataSource {
	return &hostDataSource{}
}

type hostDataSource struct {
	data *providerData
}

type hostDataSourceModel struct {
	ID types.String `tfsdk:"id"`
	hostAddressModel
	hostFactsModel
}

func (d *hostDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_host"
}

func (d *hostDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	attrs := hostFactDataSourceAttributes()
	attrs["id"] = schema.StringAttribute{Computed: true, MarkdownDescription: "`address:port` of the host."}
	attrs["address"] = schema.StringAttribute{Required: true, MarkdownDescription: addressDescription, Validators: []validator.String{addressValidator()}}
	attrs["port"] = schema.Int64Attribute{Optional: true, MarkdownDescription: portDescription, Validators: []validator.Int64{int64validator.Between(1, 65535)}}
	attrs["user"] = schema.StringAttribute{Optional: true, MarkdownDescription: userDescription, Validators: []validator.String{userValidator()}}
	attrs["host_key"] = schema.StringAttribute{Optional: true, MarkdownDescription: hostKeyDescription, Validators: []validator.String{hostKeyValidator()}}
	attrs["minimum_nix_version"] = schema.StringAttribute{Optional: true, MarkdownDescription: minimumNixDescription, Validators: []validator.String{versionValidator()}}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Facts of a NixOS machine reached over SSH with a pinned host key, without managing it: Nix version, system, CPUs, memory, free disk, current generation and readiness.",
		Attributes:          attrs,
	}
}

func (d *hostDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *hostDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m hostDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	resp.Diagnostics.Append(m.checkHostKeyPinned(d.data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.ID = types.StringValue(hostID(m.Address.ValueString(), m.port()))
	facts, err := probeHost(ctx, d.data, m.hostAddressModel)
	if err != nil {
		resp.Diagnostics.Append(remoteErrorDiagnostic("Reading host "+m.ID.ValueString(), err))
		return
	}
	m.hostFactsModel = facts
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
