package provider

import (
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// hostFact describes one probed attribute once, for both the resource and
// the data source schema.
type hostFact struct {
	name, description string
	kind              string // string, int64, bool or list
}

var hostFacts = []hostFact{
	{"nix_version", "Version of Nix on the host (`nix-store --version`); null when Nix is missing.", "string"},
	{"system", "Nix system double of the host, e.g. `x86_64-linux`.", "string"},
	{"cpu_count", "Online CPUs.", "int64"},
	{"memory_bytes", "Total memory in bytes.", "int64"},
	{"disk_free_bytes", "Free bytes on the file system that holds `/nix`.", "int64"},
	{"current_generation", "Generation number of the system profile (`/nix/var/nix/profiles/system`); null when none exists yet.", "int64"},
	{"current_system", "Store path of the current system generation; null when none exists yet.", "string"},
	{"os", "`nixos` for a NixOS machine, `sandbox` for a fediversity sandbox host, `other` otherwise.", "string"},
	{"ready", "Whether the provider can deploy to this host; see `not_ready_reasons`.", "bool"},
	{"not_ready_reasons", "Why the host is not ready (Nix missing or older than `minimum_nix_version`, not NixOS, too little disk); empty when ready.", "list"},
}

const (
	addressDescription    = "IP address or DNS name the provider connects to over SSH."
	portDescription       = "SSH port. Defaults to `22`."
	userDescription       = "SSH user. Defaults to the provider's `user`."
	hostKeyDescription    = "The host's SSH public key, as `ssh-ed25519 AAAA...`. Only this key is accepted and only its algorithm is negotiated, so a host with several keys works with one pinned. Required unless the provider's `known_hosts_file` lists the host."
	minimumNixDescription = "Oldest Nix version the host may run and still count as ready. Defaults to `" + defaultMinimumNixVersion + "`."
)

func hostFactResourceAttributes() map[string]rschema.Attribute {
	attrs := map[string]rschema.Attribute{}
	for _, f := range hostFacts {
		switch f.kind {
		case "string":
			attrs[f.name] = rschema.StringAttribute{Computed: true, MarkdownDescription: f.description}
		case "int64":
			attrs[f.name] = rschema.Int64Attribute{Computed: true, MarkdownDescription: f.description}
		case "bool":
			attrs[f.name] = rschema.BoolAttribute{Computed: true, MarkdownDescription: f.description}
		case "list":
			attrs[f.name] = rschema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: f.description}
		}
	}
	return attrs
}

func hostFactDataSourceAttributes() map[string]dschema.Attribute {
	attrs := map[string]dschema.Attribute{}
	for _, f := range hostFacts {
		switch f.kind {
		case "string":
			attrs[f.name] = dschema.StringAttribute{Computed: true, MarkdownDescription: f.description}
		case "int64":
			attrs[f.name] = dschema.Int64Attribute{Computed: true, MarkdownDescription: f.description}
		case "bool":
			attrs[f.name] = dschema.BoolAttribute{Computed: true, MarkdownDescription: f.description}
		case "list":
			attrs[f.name] = dschema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: f.description}
		}
	}
	return attrs
}
