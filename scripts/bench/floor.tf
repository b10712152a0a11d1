# The benchmark's floor (scripts/bench.sh): as many resources as main.tf
# declares for the same variables (hosts, runtimes, operators and
# applications), wired in the same order, but OpenTofu's built-in
# terraform_data, which does no I/O. Timing it on the same machine in the
# same run gives what OpenTofu itself costs, to which the provider's no-op
# refresh and apply are compared. The variables and hosts it shares with
# the scale benchmark's floor are in floor-fleet/fleet.tf, copied beside it.

# Declared so that main.tf's variables file serves here too; the floor
# mirrors the main phases, without guests or changed settings.
variable "guests" {
  type    = map(string)
  default = {}
}

variable "guest_applications" {
  type    = list(string)
  default = []
}

variable "registrations_open" {
  type    = list(string)
  default = []
}

resource "terraform_data" "runtime" {
  for_each = var.operators

  input = "${terraform_data.host[each.value].output.address}/${each.key}"
}

resource "terraform_data" "operator" {
  for_each = var.operators

  input = "${terraform_data.runtime[each.key].output}/${each.key}"
}

resource "terraform_data" "application" {
  for_each = { for pair in setproduct(keys(var.operators), var.applications) : "${pair[0]}-${pair[1]}" => pair }

  input = "${terraform_data.operator[each.value[0]].output}/${each.value[1]}"
}
