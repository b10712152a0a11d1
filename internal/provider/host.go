package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/probe"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// This file holds what the fediversity_host resource and data source share:
// how a host is addressed, probed and described.

const (
	defaultPort              = 22
	defaultMinimumNixVersion = "2.8"
)

// connectionModel is how the provider reaches a host. Every resource on a
// host carries one, passed along from fediversity_host's connection.
type connectionModel struct {
	Address types.String `tfsdk:"address"`
	Port    types.Int64  `tfsdk:"port"`
	User    types.String `tfsdk:"user"`
	HostKey types.String `tfsdk:"host_key"`
}

// object is the connection as the value of a computed attribute.
func (m connectionModel) object(ctx context.Context) (types.Object, diag.Diagnostics) {
	return objectOf(ctx, connectionTypes, m, m.Address, m.Port, m.User, m.HostKey)
}

// hostAddressModel is how the configuration names a host.
type hostAddressModel struct {
	connectionModel
	MinimumNixVersion types.String `tfsdk:"minimum_nix_version"`
}

// hostFactsModel is what a probe learns about a host.
type hostFactsModel struct {
	NixVersion        types.String `tfsdk:"nix_version"`
	System            types.String `tfsdk:"system"`
	CPUCount          types.Int64  `tfsdk:"cpu_count"`
	MemoryBytes       types.Int64  `tfsdk:"memory_bytes"`
	DiskFreeBytes     types.Int64  `tfsdk:"disk_free_bytes"`
	CurrentGeneration types.Int64  `tfsdk:"current_generation"`
	CurrentSystem     types.String `tfsdk:"current_system"`
	OS                types.String `tfsdk:"os"`
	Ready             types.Bool   `tfsdk:"ready"`
	NotReadyReasons   types.List   `tfsdk:"not_ready_reasons"`
}

// hostID is the resource identity: the address and port, as SSH writes them.
func hostID(address string, port int64) string {
	return net.JoinHostPort(address, strconv.FormatInt(port, 10))
}

func (m connectionModel) port() int64 {
	if m.Port.IsNull() || m.Port.IsUnknown() {
		return defaultPort
	}
	return m.Port.ValueInt64()
}

// factsKey names the host in the runtime facts cache.
func (m connectionModel) factsKey() string {
	return hostID(m.Address.ValueString(), m.port())
}

// prefetchRuntimes starts reading every runtime on the host in one remote
// command, so that the refresh of the runtimes, operators and applications
// on it that follows asks the host nothing more.
func (d *providerData) prefetchRuntimes(ctx context.Context, m connectionModel) {
	d.facts.prefetchHost(ctx, m.factsKey(), func(ctx context.Context) (map[string]nixos.RuntimeFacts, error) {
		c, err := d.client(ctx, m)
		if err != nil {
			return nil, err
		}
		return nixos.ReadRuntimes(ctx, c, runtimesRoot)
	})
}

func (m hostAddressModel) minimumNix() *goversion.Version {
	v, err := goversion.NewVersion(stringOr(m.MinimumNixVersion, defaultMinimumNixVersion))
	if err != nil { // the validator rejected it at plan time already
		return goversion.Must(goversion.NewVersion(defaultMinimumNixVersion))
	}
	return v
}

// endpoint resolves the SSH endpoint: the pinned host_key, else whatever the
// provider's known_hosts file lists for the host (checked by the pool).
func (m connectionModel) endpoint(data *providerData) (remote.Endpoint, error) {
	e := remote.Endpoint{
		Address: m.Address.ValueString(),
		Port:    int(m.port()),
		User:    stringOr(m.User, data.defaultUser),
	}
	if key := m.HostKey.ValueString(); key != "" {
		parsed, err := parseHostKey(key)
		if err != nil {
			return e, err
		}
		e.HostKeys = []ssh.PublicKey{parsed}
	}
	return e, nil
}

// checkHostKeyPinned refuses, at plan time and before any connection, a host
// whose key is neither pinned nor listed in the known_hosts file.
func (m connectionModel) checkHostKeyPinned(data *providerData) diag.Diagnostics {
	var diags diag.Diagnostics
	if data == nil || !m.HostKey.IsNull() || m.Address.IsUnknown() || m.Port.IsUnknown() {
		return diags
	}
	hostPort := hostID(m.Address.ValueString(), m.port())
	keys, err := remote.KnownHostKeys(data.knownHostsFiles, hostPort)
	if err != nil {
		diags.AddAttributeError(path.Root("host_key"), "Cannot Read Known Hosts",
			fmt.Sprintf("Reading known_hosts_file to find the key of %s failed: %v. Fix the file or set host_key.", hostPort, err))
		return diags
	}
	if len(keys) == 0 {
		diags.AddAttributeError(path.Root("host_key"), "Host Key Not Pinned",
			fmt.Sprintf("No host key is pinned for %s: host_key is not set and no known_hosts_file lists it. "+
				"The provider never trusts a key on first use. Set host_key to the host's public key "+
				"(\"ssh-ed25519 AAAA...\", from /etc/ssh/ssh_host_ed25519_key.pub on the host or the sandbox's `up` output), "+
				"or add the host to the provider's known_hosts_file.", hostPort))
	}
	return diags
}

// client returns the process's connection to the host.
func (d *providerData) client(ctx context.Context, m connectionModel) (*remote.Client, error) {
	pool, diagnostic := d.connectionPool(path.Root("address"))
	if diagnostic != nil {
		return nil, errors.New(diagnostic.Detail())
	}
	endpoint, err := m.endpoint(d)
	if err != nil {
		return nil, err
	}
	return pool.Client(tflog.SetField(ctx, "host", endpoint.HostPort()), endpoint)
}

// probeHost connects to a host (reusing the process's connection) and reads its facts.
func probeHost(ctx context.Context, data *providerData, m hostAddressModel) (hostFactsModel, error) {
	client, err := data.client(ctx, m.connectionModel)
	if err != nil {
		return hostFactsModel{}, err
	}
	facts, err := probe.Run(ctx, client)
	if err != nil {
		return hostFactsModel{}, err
	}
	tflog.Debug(ctx, "host probed", map[string]any{"nix": facts.NixVersion, "system": facts.System, "generation": facts.CurrentGeneration})
	return factsModel(facts, probe.NotReadyReasons(facts, m.minimumNix())), nil
}

func factsModel(f probe.Facts, notReady []string) hostFactsModel {
	reasons := make([]attr.Value, len(notReady))
	for i, r := range notReady {
		reasons[i] = types.StringValue(r)
	}
	m := hostFactsModel{
		NixVersion:        nullIfEmpty(f.NixVersion),
		System:            types.StringValue(f.System),
		CPUCount:          types.Int64Value(f.CPUCount),
		MemoryBytes:       types.Int64Value(f.MemoryBytes),
		DiskFreeBytes:     types.Int64Value(f.DiskFreeBytes),
		CurrentGeneration: types.Int64Null(),
		CurrentSystem:     nullIfEmpty(f.CurrentSystem),
		OS:                types.StringValue(f.OS),
		Ready:             types.BoolValue(len(notReady) == 0),
		NotReadyReasons:   types.ListValueMust(types.StringType, reasons),
	}
	if f.CurrentGeneration > 0 {
		m.CurrentGeneration = types.Int64Value(f.CurrentGeneration)
	}
	return m
}

func (m hostFactsModel) notReadyReasons() []string {
	var reasons []string
	for _, r := range m.NotReadyReasons.Elements() {
		reasons = append(reasons, r.(types.String).ValueString())
	}
	return reasons
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
