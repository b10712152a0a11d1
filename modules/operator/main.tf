# One operator offering: a runtime on one host, the operator on it, and the
# applications the operator chose. Each resource passes the next one its
# target, as the provider's documentation wires them by hand.

# Each resource is referenced once, here, and everything else reads these
# locals: OpenTofu answers every reference to a resource in a module called
# with for_each by copying that resource's planned changes in every instance
# of the module, so that a fleet of N operators costs N² copies per
# reference (BENCHMARKS.md, "Scale").
locals {
  runtime      = fediversity_runtime.this
  operator     = fediversity_operator.this
  applications = fediversity_application.this
}

resource "fediversity_runtime" "this" {
  name             = coalesce(var.runtime.name, var.name)
  host             = var.host
  kind             = var.runtime.kind
  container_name   = var.runtime.container_name
  build_location   = var.runtime.build_location
  nixpkgs          = var.runtime.nixpkgs
  keep_generations = var.runtime.keep_generations
  listen_addresses = var.runtime.listen_addresses
  state_version    = var.runtime.state_version
}

resource "fediversity_operator" "this" {
  name          = var.name
  runtime       = local.runtime.target
  domain        = var.domain
  contact_email = var.contact_email

  # Whatever the caller says must come first; the migration module passes
  # its fediversity_migration here so that the operator and its applications
  # adopt what the migration deployed instead of deploying it again.
  depends_on = [var.deploy_after]
}

resource "fediversity_application" "this" {
  for_each = var.applications

  operator               = local.operator.target
  kind                   = each.key
  version                = each.value.version
  subdomain              = each.value.subdomain
  registrations_open     = each.value.registrations_open
  user_limit             = each.value.user_limit
  retain_data_on_destroy = each.value.retain_data_on_destroy
  running                = each.value.running
}
