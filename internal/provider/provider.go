// Package provider implements the fediversity OpenTofu/Terraform provider.
package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/providervalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ provider.Provider                     = &fediversityProvider{}
	_ provider.ProviderWithConfigValidators = &fediversityProvider{}
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &fediversityProvider{version: version}
	}
}

type fediversityProvider struct {
	version string
}

// providerModel is the provider block. None of it is stored in state.
type providerModel struct {
	User              types.String `tfsdk:"user"`
	PrivateKey        types.String `tfsdk:"private_key"`
	PrivateKeyFile    types.String `tfsdk:"private_key_file"`
	SSHAgent          types.Bool   `tfsdk:"ssh_agent"`
	KnownHostsFile    types.String `tfsdk:"known_hosts_file"`
	ConnectTimeout    types.String `tfsdk:"connect_timeout"`
	CommandTimeout    types.String `tfsdk:"command_timeout"`
	KeepaliveInterval types.String `tfsdk:"keepalive_interval"`
	KeepaliveCountMax types.Int64  `tfsdk:"keepalive_count_max"`
	MaxSessions       types.Int64  `tfsdk:"max_sessions_per_host"`
	HealthTimeout     types.String `tfsdk:"health_timeout"`
	MaxBuildsPerHost  types.Int64  `tfsdk:"max_builds_per_host"`
}

func (p *fediversityProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "fediversity"
	resp.Version = p.version
}

func (p *fediversityProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Deploys fediverse applications for many operators to NixOS machines over SSH. " +
			"Every connection verifies the host's key against a pinned key or a known_hosts file: there is no trust on first use.",
		Attributes: map[string]schema.Attribute{
			"user": schema.StringAttribute{
				MarkdownDescription: "SSH user for hosts that do not set their own `user`. Defaults to `$FEDIVERSITY_SSH_USER`, else `root`.",
				Optional:            true,
				Validators:          []validator.String{userValidator()},
			},
			"private_key": schema.StringAttribute{
				MarkdownDescription: "Unencrypted SSH private key (OpenSSH or PEM format). Provider settings never reach state; prefer `private_key_file` or `ssh_agent` so the key need not sit in a configuration either.",
				Optional:            true,
				Sensitive:           true,
				Validators:          []validator.String{privateKeyValidator()},
			},
			"private_key_file": schema.StringAttribute{
				MarkdownDescription: "Path of an unencrypted SSH private key. Defaults to `$FEDIVERSITY_SSH_PRIVATE_KEY_FILE`.",
				Optional:            true,
			},
			"ssh_agent": schema.BoolAttribute{
				MarkdownDescription: "Authenticate with the keys of the agent at `$SSH_AUTH_SOCK`. Defaults to true when no private key is given and `$SSH_AUTH_SOCK` is set.",
				Optional:            true,
			},
			"known_hosts_file": schema.StringAttribute{
				MarkdownDescription: "OpenSSH known_hosts file that pins the keys of hosts that set no `host_key`. Defaults to `$FEDIVERSITY_KNOWN_HOSTS_FILE`; `~/.ssh/known_hosts` is never read implicitly.",
				Optional:            true,
			},
			"connect_timeout":    durationAttribute("How long to wait for a host to accept the TCP connection and complete the SSH handshake.", defaultConnectTimeout),
			"command_timeout":    durationAttribute("Longest a single remote command may run before it is killed and reported as failed.", defaultCommandTimeout),
			"keepalive_interval": durationAttribute("Interval of SSH keepalive requests. A connection that misses `keepalive_count_max` replies in a row is declared lost, so a silently dropped network fails a command instead of hanging it.", defaultKeepaliveInterval),
			"health_timeout":     durationAttribute("How long an application may take after a switch to answer its health check before the runtime is rolled back.", defaultHealthTimeout),
			"keepalive_count_max": schema.Int64Attribute{
				MarkdownDescription: "Keepalive replies that may be missed in a row before the connection is declared lost. Defaults to `3`.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 100)},
			},
			"max_sessions_per_host": schema.Int64Attribute{
				MarkdownDescription: "Concurrent SSH sessions multiplexed on the single connection to each host. Defaults to `8`; OpenSSH's `MaxSessions` defaults to 10.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 64)},
			},
			"max_builds_per_host": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Runtimes of one host that build and switch at the same time; more wait their turn in the provider. "+
					"Each build evaluates a NixOS system, which takes a CPU and memory of its own on the building machine. Defaults to `%d`.", defaultMaxBuildsPerHost),
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(1, 64)},
			},
		},
	}
}

func durationAttribute(description, fallback string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description + " A Go duration such as `30s` or `5m`. Defaults to `" + fallback + "`.",
		Optional:            true,
		Validators:          []validator.String{durationValidator()},
	}
}

func (p *fediversityProvider) ConfigValidators(context.Context) []provider.ConfigValidator {
	return []provider.ConfigValidator{
		providervalidator.Conflicting(path.MatchRoot("private_key"), path.MatchRoot("private_key_file")),
	}
}

func (p *fediversityProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data, diags := newProviderData(ctx, config)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *fediversityProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewHostResource,
		NewRuntimeResource,
		NewOperatorResource,
		NewApplicationResource,
		NewMigrationResource,
	}
}

func (p *fediversityProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewHostDataSource,
		NewApplicationsDataSource,
	}
}
