# What both benchmarks' floors (scripts/bench/floor.tf,
# scripts/bench/scale/floor/main.tf) share: the variables of the provider's
# configuration, and a terraform_data for every host, as fleet/fleet.tf
# declares a fediversity_host. The scripts copy it beside them.

variable "fleet_file" {
  type = string
}

variable "operators" {
  type = map(string)
}

variable "applications" {
  type = list(string)
}

locals {
  hosts = { for h in jsondecode(file(var.fleet_file)).hosts : h.name => h }
}

resource "terraform_data" "host" {
  for_each = local.hosts

  input = { address = each.value.address, port = each.value.port, host_key = each.value.host_keys[0] }
}
