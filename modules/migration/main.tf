# Moving one operator in from another hosting provider: a runtime for it
# here, the fediversity_migration that pulls its data over, and the
# operator and its applications declared on top, which adopt what the
# migration deployed (the operator module, told to wait for the migration).

module "operator" {
  source = "../operator"

  host          = var.host
  name          = var.name
  domain        = var.domain
  contact_email = var.contact_email
  applications  = var.applications
  runtime       = var.runtime

  # The runtime is created first (the migration needs its target); the
  # operator and its applications only once the migration has deployed and
  # filled them, so they find their desired state in place: nothing is
  # rebuilt.
  deploy_after = fediversity_migration.this
}

resource "fediversity_migration" "this" {
  operator = var.name
  source = {
    host             = var.from.host
    runtime          = coalesce(var.from.runtime, var.name)
    private_key      = var.from_private_key
    private_key_file = var.from.private_key_file
  }
  target   = module.operator.runtime
  finalize = var.finalize
}

# Adopting rebuilds nothing only if the applications declared are the ones
# the operator had, on the same subdomains and versions, which the
# migration reads at the source when it is planned.
check "adoption" {
  assert {
    condition = fediversity_migration.this.applications == null ? true : (
      toset([for app in fediversity_migration.this.applications : app.kind]) == toset(keys(var.applications)) &&
      alltrue([
        for app in fediversity_migration.this.applications :
        try(module.operator.applications[app.kind].subdomain == app.subdomain && module.operator.applications[app.kind].version == app.version, false)
      ])
    )
    error_message = "applications must declare exactly the applications the operator brought, with their subdomains and versions, for the adoption to rebuild nothing. Migrated: ${jsonencode(coalesce(fediversity_migration.this.applications, []))}; declared: ${jsonencode({ for kind, app in module.operator.applications : kind => { subdomain = app.subdomain, version = app.version } })}."
  }
}
