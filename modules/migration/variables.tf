variable "host" {
  description = "The host here that the operator moves to, in the shape of fediversity_host.<name>.endpoint: { address, port, user, host_key }. Checked by the operator module."
  type = object({
    address  = string
    port     = optional(number, 22)
    user     = optional(string)
    host_key = optional(string)
  })
}

variable "name" {
  description = "The operator's name, the same at the source and here; also the name of its runtime here unless runtime.name says otherwise. Checked by the operator module."
  type        = string
}

variable "domain" {
  description = "The operator's domain, as at the source. Checked by the operator module."
  type        = string
}

variable "contact_email" {
  description = "The operator's contact, as at the source. Checked by the operator module."
  type        = string
}

variable "applications" {
  description = "The applications the operator brings, by kind, as the operator module takes them: declare every kind it had, with the subdomain and version it had (output.migrated_applications lists them once the migration has run), so that adopting them rebuilds nothing."
  type        = any
  default     = {}
  nullable    = false
}

variable "runtime" {
  description = "The operator's runtime here, as the operator module takes it: a NixOS container of its own by default."
  type        = any
  default     = {}
  nullable    = false
}

variable "from" {
  description = <<-EOT
    Where the operator comes from, as the old hosting provider handed it over: host (its machine: address, port, user, and its pinned host_key),
    runtime (the runtime's name there; default: the operator's name) and private_key_file (the key the old provider authorised; unset, the
    provider's own credentials, or from_private_key).
  EOT
  type = object({
    host = object({
      address  = string
      port     = optional(number, 22)
      user     = optional(string)
      host_key = optional(string)
    })
    runtime          = optional(string)
    private_key_file = optional(string)
  })

  validation {
    condition     = trimspace(var.from.host.address) != "" && try(floor(var.from.host.port) == var.from.host.port && var.from.host.port >= 1 && var.from.host.port <= 65535, false)
    error_message = "from.host must give the old provider's machine: an address and a port from 1 to 65535 (22 when unset)."
  }
  validation {
    condition     = var.from.runtime == null || can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.from.runtime))
    error_message = "from.runtime must be the runtime's name at the source (1-32 lower-case letters, digits or '-', starting with a letter), or unset when it is the operator's name."
  }
}

variable "from_private_key" {
  description = "The key the old provider authorised, inline (unencrypted), instead of from.private_key_file."
  type        = string
  default     = null
  sensitive   = true
}

variable "finalize" {
  description = "Delete the operator's data at the source. Leave false until the operator's DNS points here and everything checks out; then set true and apply again. The provider refuses until the target is verified and running, and when the source changed since it was copied."
  type        = bool
  default     = false
  nullable    = false
}
