# At the NEW hosting provider: a runtime for the operator who is moving in.
resource "fediversity_runtime" "riverside" {
  name = "riverside"
  host = fediversity_host.new1.endpoint
  kind = "container"
}

# Pull the operator, with its databases, files, secrets and mail, from the
# old provider's machine, with the credentials the old provider gave.
resource "fediversity_migration" "riverside" {
  operator = "riverside"
  source = {
    host = {
      address  = "198.51.100.7"
      port     = 22
      host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq0q9xX6zJ3bT5m8yJc1Zk4v2pVnQ0tW7sLr3eF9aGd root@old-provider"
    }
    runtime          = "riverside"
    private_key_file = "/etc/fediversity/keys/old-provider-handover"
  }
  target = fediversity_runtime.riverside.target

  # Once the operator's DNS points here and everything checks out, set to
  # true and apply again: deletes the operator's data at the old provider.
  finalize = false
}

# Adopt what the migration deployed: the same values, so nothing is rebuilt.
resource "fediversity_operator" "riverside" {
  name          = "riverside"
  runtime       = fediversity_runtime.riverside.target
  domain        = "riverside.example.org"
  contact_email = "board@riverside.example.org"
  depends_on    = [fediversity_migration.riverside]
}

# The kinds the operator had (see fediversity_migration.riverside.applications).
resource "fediversity_application" "riverside" {
  for_each = toset(["mastodon", "matrix", "pixelfed"])
  operator = fediversity_operator.riverside.target
  kind     = each.key
}

output "dns_records_to_switch" {
  value = fediversity_migration.riverside.dns_records
}
