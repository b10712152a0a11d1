# What scripts/bench-scale.sh applies: every sandbox host of the fleet, and
# per operator the operator module (modules/operator, copied beside this
# file as ./operator) with a container runtime of its own and its
# applications, as a hosting provider's configuration would declare a fleet.
# bench-scale.sh writes the variables; the provider, the hosts and the
# variables they take are in ../fleet/fleet.tf, which it copies beside it.
variable "running" {
  description = "Whether the applications' services run; false: declared but not started, so that the figures measure the provider and Nix, not the stand-in applications."
  type        = bool
}

variable "registrations_open" {
  description = "Operators whose Mastodon has registrations open (the \"change one operator\" phase changes this one setting)."
  type        = list(string)
  default     = []
}

module "operator" {
  source   = "./operator"
  for_each = var.operators

  name          = each.key
  host          = fediversity_host.this[each.value].endpoint
  domain        = "${each.key}.example"
  contact_email = "admin@${each.key}.example"
  runtime       = { kind = "container" }
  applications = {
    for kind in var.applications : kind => {
      running            = var.running
      registrations_open = kind == "mastodon" && contains(var.registrations_open, each.key)
    }
  }
}
