# A hosting provider's fleet: its hosts, and every operator on a NixOS
# container of its own on the host placement.tf chooses, through the
# operator module.

resource "fediversity_host" "this" {
  for_each = var.hosts

  address             = each.value.address
  port                = each.value.port
  user                = each.value.user
  host_key            = each.value.host_key
  minimum_nix_version = each.value.minimum_nix_version
}

module "operator" {
  source   = "../operator"
  for_each = local.placement

  host          = fediversity_host.this[each.value].endpoint
  name          = each.key
  domain        = var.operators[each.key].domain
  contact_email = var.operators[each.key].contact_email
  applications  = var.operators[each.key].applications
  runtime       = merge(var.runtime, { kind = "container" })
}
