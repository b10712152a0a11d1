# What scripts/bench.sh applies with the provider: every sandbox host of the
# fleet, and per operator a container runtime of its own on its host, the
# operator and its applications. bench.sh writes the variables (the same
# operators, hosts and kinds the baseline deploys, from common.sh). The
# provider, the hosts and the variables they take are in fleet/fleet.tf,
# which bench.sh copies beside it.
variable "guests" {
  description = "Operators added to another operator's runtime: name => that operator's name."
  type        = map(string)
  default     = {}
}

variable "guest_applications" {
  description = "The kinds of application every guest runs (others than the runtime's operator's)."
  type        = list(string)
  default     = []
}

variable "registrations_open" {
  description = "Operators whose Mastodon has registrations open (the \"change\" phase changes this one setting)."
  type        = list(string)
  default     = []
}

locals {
  applications = merge(
    { for pair in setproduct(keys(var.operators), var.applications) :
    "${pair[0]}-${pair[1]}" => { name = pair[0], operator = fediversity_operator.this[pair[0]].target, kind = pair[1] } },
    { for pair in setproduct(keys(var.guests), var.guest_applications) :
    "${pair[0]}-${pair[1]}" => { name = pair[0], operator = fediversity_operator.guest[pair[0]].target, kind = pair[1] } },
  )
}

resource "fediversity_runtime" "this" {
  for_each = var.operators

  name = each.key
  host = fediversity_host.this[each.value].endpoint
  kind = "container"
}

resource "fediversity_operator" "this" {
  for_each = var.operators

  name          = each.key
  runtime       = fediversity_runtime.this[each.key].target
  domain        = "${each.key}.example"
  contact_email = "admin@${each.key}.example"
}

resource "fediversity_operator" "guest" {
  for_each = var.guests

  name          = each.key
  runtime       = fediversity_runtime.this[each.value].target
  domain        = "${each.key}.example"
  contact_email = "admin@${each.key}.example"
}

resource "fediversity_application" "this" {
  for_each = local.applications

  operator = each.value.operator
  kind     = each.value.kind
  # false is the default, so only the named operators' Mastodon differs.
  registrations_open = each.value.kind == "mastodon" && contains(var.registrations_open, each.value.name)
}
