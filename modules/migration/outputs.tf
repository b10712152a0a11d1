output "phase" {
  description = "The last phase the migration completed: preflight, deploy-held, stop-source, copy, verify, start or finalize."
  value       = fediversity_migration.this.phase
}

output "dns_records_to_switch" {
  description = "The records to point at the new host once the migration is done: the applications' and the mail's (with the DKIM key the operator brought along), each { name, type, value, ttl }."
  value       = fediversity_migration.this.dns_records
}

output "moves" {
  description = "What the migration moves, measured at the source when planned ({ what, bytes }), to announce the downtime."
  value       = fediversity_migration.this.moves
}

output "migrated_applications" {
  description = "The applications moved, with kind, subdomain and version: what applications must declare."
  value       = fediversity_migration.this.applications
}

output "urls" {
  description = "Where each application answers here, by kind."
  value       = module.operator.urls
}

output "dns_records" {
  description = "Every record the operator's domain publishes here, as the operator module lists them."
  value       = module.operator.dns_records
}

output "target" {
  description = "The operator's target (fediversity_operator.target) here."
  value       = module.operator.target
}
