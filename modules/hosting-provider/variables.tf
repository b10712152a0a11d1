variable "hosts" {
  description = <<-EOT
    The fleet's NixOS machines by name: address, port (default 22), user and host_key (as fediversity_host takes them; user and host_key may be
    left to the provider's user and known_hosts_file), minimum_nix_version (optional), and capacity: how many operators the host takes
    (0: none, e.g. while it is being drained).
  EOT
  type = map(object({
    address             = string
    port                = optional(number, 22)
    user                = optional(string)
    host_key            = optional(string)
    minimum_nix_version = optional(string)
    capacity            = number
  }))

  validation {
    condition     = length(var.hosts) > 0
    error_message = "hosts must name at least one host, e.g. hosts = { web1 = { address = \"192.0.2.10\", host_key = \"ssh-ed25519 AAAA...\", capacity = 10 } }."
  }
  validation {
    condition     = alltrue([for name in keys(var.hosts) : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", name))])
    error_message = "hosts: each host's name (its key) must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit."
  }
  validation {
    condition     = alltrue([for spec in values(var.hosts) : try(floor(spec.capacity) == spec.capacity && spec.capacity >= 0, false)])
    error_message = "hosts: each host's capacity must be a whole number of operators, 0 or more."
  }
}

variable "operators" {
  description = <<-EOT
    The operators by name (1-32 lower-case letters, digits or '-', starting with a letter), each with its domain, contact_email and
    applications as the operator module takes them: { mastodon = {}, pixelfed = { registrations_open = true }, matrix = { running = false } }. Each operator gets a
    NixOS container of its own on the host the placement chooses.
  EOT
  type = map(object({
    domain        = string
    contact_email = string
    applications = optional(map(object({
      version                = optional(string)
      subdomain              = optional(string)
      registrations_open     = optional(bool, false)
      user_limit             = optional(number, 0)
      retain_data_on_destroy = optional(bool, true)
      running                = optional(bool, true)
    })), {})
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.operators) : can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", name))])
    error_message = "operators: each operator's name (its key) must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'; rename ${join(", ", [for name in keys(var.operators) : "\"${name}\"" if !can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", name))])}."
  }
  validation {
    condition     = length(distinct([for spec in values(var.operators) : spec.domain])) == length(var.operators)
    error_message = "operators: two operators share a domain; each operator needs a domain of its own."
  }
}

variable "placement" {
  description = "Pins: operator => host. A pinned operator goes to that host whatever else changes, and counts against its capacity; the others are placed by rendezvous hashing. To freeze the whole fleet, pin every operator where output.placement put it."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "runtime" {
  description = "Settings of every operator's container runtime, as the operator module's runtime takes them (kind is always \"container\"): build_location (\"target\" or \"local\"), nixpkgs, keep_generations, listen_addresses, state_version. Unset, the provider's defaults."
  type = object({
    build_location   = optional(string)
    nixpkgs          = optional(string)
    keep_generations = optional(number)
    listen_addresses = optional(list(string))
    state_version    = optional(string)
  })
  default  = {}
  nullable = false
}
