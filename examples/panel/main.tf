# What a panel applies for one operator, in that operator's own workspace:
# a runtime (a NixOS container of the operator's own) on the host the panel
# picked, the operator, and the applications it chose. The panel writes the
# variables as <operator>.tfvars.json and runs
#
#   tofu apply -auto-approve -json -var-file=<operator>.tfvars.json
#
# with TF_WORKSPACE=<operator>; see README.md and the guide "Running behind
# a panel".
terraform {
  required_providers {
    fediversity = { source = "fediversity/fediversity" }
  }

  # State in PostgreSQL, one workspace per operator. The connection string
  # comes from the environment, PG_CONN_STR (a postgres:// URL or libpq
  # key=value pairs), and so does the schema, PG_SCHEMA_NAME (default
  # terraform_remote_state): nothing secret is written here.
  backend "pg" {}
}

# SSH settings come from the panel's environment (FEDIVERSITY_SSH_PRIVATE_KEY_FILE,
# FEDIVERSITY_SSH_USER, FEDIVERSITY_KNOWN_HOSTS_FILE), never from the
# operator's variables.
provider "fediversity" {}

variable "host" {
  description = "The host the panel picked for this operator: { address, port, user, host_key }, as fediversity_host.<name>.endpoint gives it; port defaults to 22, user to the provider's, and host_key may be left out when FEDIVERSITY_KNOWN_HOSTS_FILE lists the host."
  type        = any
}

variable "name" {
  description = "The operator's name: 1-32 lower-case letters, digits or '-'. Also its runtime's, and its container's unless runtime.container_name is set (at most 11 characters)."
  type        = string
}

variable "domain" {
  description = "The operator's domain; its applications answer on subdomains of it."
  type        = string
}

variable "contact_email" {
  description = "Where the hosting provider reaches the operator."
  type        = string
}

variable "applications" {
  description = "The operator's applications by kind, each with optional settings, e.g. { mastodon = {}, pixelfed = { registrations_open = true } }."
  type        = any
  default     = {}
}

variable "runtime" {
  description = "The operator's runtime, as the operator module takes it; unset, a NixOS container of its own."
  type        = any
  default     = {}
}

module "operator" {
  source = "../../modules/operator"

  host          = var.host
  name          = var.name
  domain        = var.domain
  contact_email = var.contact_email
  applications  = var.applications
  runtime       = var.runtime
}

output "urls" {
  description = "Where each application answers, by kind."
  value       = module.operator.urls
}

output "applications" {
  description = "Each application by kind: url, subdomain, version and health."
  value       = module.operator.applications
}

output "address" {
  description = "The runtime's address: what the operator's DNS records name, and where the applications answer for their domains."
  value       = module.operator.runtime.address
}

output "dns_records" {
  description = "Every record the operator's domain must publish."
  value       = module.operator.dns_records
}
