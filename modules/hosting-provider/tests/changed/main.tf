# Test helper: the fleet again after a change, and who moved. A run that
# uses this module passes the placement of an earlier run as `before`
# (assertions cannot read earlier runs' outputs; variables can).

terraform {
  required_providers {
    fediversity = { source = "fediversity/fediversity" }
  }
}

variable "before" {
  description = "Placement of an earlier run: operator => host."
  type        = map(string)
}

variable "hosts" {
  description = "As the hosting-provider module takes it."
  type        = any
}

variable "operators" {
  description = "As the hosting-provider module takes it."
  type        = any
}

variable "placement" {
  description = "As the hosting-provider module takes it."
  type        = map(string)
  default     = {}
}

module "fleet" {
  source = "../.."

  hosts     = var.hosts
  operators = var.operators
  placement = var.placement
}

output "placement" {
  value = module.fleet.placement
}

output "hosts" {
  value = module.fleet.hosts
}

output "moved" {
  description = "Operators of before that are still in the fleet but on another host."
  value       = sort([for operator, host in var.before : operator if contains(keys(module.fleet.placement), operator) && module.fleet.placement[operator] != host])
}
