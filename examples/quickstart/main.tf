# What `make demo` applies: every sandbox host as a fediversity_host, with
# its ed25519 key pinned, read from the fleet file that
# `fediversity-sandbox up` prints.
terraform {
  required_providers {
    fediversity = {
      source = "fediversity/fediversity"
    }
  }
}

variable "fleet_file" {
  description = "Path of the JSON printed by `fediversity-sandbox up`."
  type        = string
}

locals {
  fleet = jsondecode(file(var.fleet_file))
  hosts = { for h in local.fleet.hosts : h.name => h }
}

provider "fediversity" {
  private_key_file = local.fleet.client_key_path
}

resource "fediversity_host" "this" {
  for_each = local.hosts

  address  = each.value.address
  port     = each.value.port
  host_key = each.value.host_keys[0]
}

output "hosts" {
  description = "What each host reported about itself."
  value = {
    for name, h in fediversity_host.this : name => {
      address     = h.address
      nix_version = h.nix_version
      system      = h.system
      cpu_count   = h.cpu_count
      memory_mib  = floor(h.memory_bytes / 1048576)
      ready       = h.ready
    }
  }
}

output "ssh_commands" {
  description = "How to log in to each host, verifying its pinned key."
  value = {
    for name, h in local.hosts : name =>
    "ssh -i ${local.fleet.client_key_path} -o UserKnownHostsFile=${var.fleet_file}.known_hosts -o StrictHostKeyChecking=yes root@${h.address}"
  }
}
