package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
)

// NewApplicationsDataSource is fediversity_applications: the catalogue of
// application kinds and versions this provider deploys.
func NewApplicationsDataSource() datasource.DataSource {
	return &applicationsDataSource{}
}

type applicationsDataSource struct{}

var catalogueEntryTypes = map[string]attr.Type{
	"kind": types.StringType, "name": types.StringType, "nixos_module": types.StringType,
	"versions": types.ListType{ElemType: types.StringType}, "default_version": types.StringType,
	"default_subdomain": types.StringType, "health_path": types.StringType,
}

type catalogueEntryModel struct {
	Kind             types.String `tfsdk:"kind"`
	Name             types.String `tfsdk:"name"`
	NixOSModule      types.String `tfsdk:"nixos_module"`
	Versions         types.List   `tfsdk:"versions"`
	DefaultVersion   types.String `tfsdk:"default_version"`
	DefaultSubdomain types.String `tfsdk:"default_subdomain"`
	HealthPath       types.String `tfsdk:"health_path"`
}

func (d *applicationsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_applications"
}

func (d *applicationsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The application kinds this provider deploys, with their supported versions (newest first) and defaults.",
		Attributes: map[string]schema.Attribute{
			"applications": schema.MapAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: catalogueEntryTypes},
				MarkdownDescription: "By kind: `name`, `nixos_module`, `versions`, `default_version`, `default_subdomain`, `health_path`."},
		},
	}
}

func (d *applicationsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	entries := map[string]catalogueEntryModel{}
	for _, app := range catalogue.All() {
		versions, diags := types.ListValueFrom(ctx, types.StringType, app.Versions)
		resp.Diagnostics.Append(diags...)
		entries[app.Kind] = catalogueEntryModel{
			Kind: types.StringValue(app.Kind), Name: types.StringValue(app.Name), NixOSModule: types.StringValue(app.NixOSModule),
			Versions: versions, DefaultVersion: types.StringValue(app.Versions[0]),
			DefaultSubdomain: types.StringValue(app.Subdomain), HealthPath: types.StringValue(app.HealthPath),
		}
	}
	value, diags := types.MapValueFrom(ctx, types.ObjectType{AttrTypes: catalogueEntryTypes}, entries)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("applications"), value)...)
}
