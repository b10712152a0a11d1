# The floor of scripts/bench-scale.sh: the same configuration as main.tf,
# module for module and resource for resource, wired in the same order,
# but of OpenTofu's built-in terraform_data, which does no I/O. Timing it
# on the same machine in the same run gives what OpenTofu itself costs for
# as many resources, to which the provider's phases are compared. The
# variables and hosts are in ../../floor-fleet/fleet.tf, copied beside it.

# Declared so that main.tf's variables file serves here too.
variable "running" {
  type = bool
}

variable "registrations_open" {
  type    = list(string)
  default = []
}

module "operator" {
  source   = "./operator"
  for_each = var.operators

  name = each.key
  host = terraform_data.host[each.value].output
  applications = {
    for kind in var.applications : kind => {
      running            = var.running
      registrations_open = kind == "mastodon" && contains(var.registrations_open, each.key)
    }
  }
}
