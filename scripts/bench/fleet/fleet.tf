# What both benchmarks' provider configurations (scripts/bench/main.tf,
# scripts/bench/scale/main.tf) share: the provider, and a fediversity_host
# for every sandbox host of the fleet. The scripts copy it beside them.
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

variable "operators" {
  description = "Each operator's name (also its runtime's) and the name of its host in the fleet."
  type        = map(string)
}

variable "applications" {
  description = "The kinds of application every operator runs."
  type        = list(string)
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
