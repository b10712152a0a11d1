variable "host" {
  description = "The host the operator's runtime goes on, in the shape of fediversity_host.<name>.endpoint: { address, port, user, host_key }. user and host_key may be null: the provider's user, and its known_hosts_file."
  type = object({
    address  = string
    port     = optional(number, 22)
    user     = optional(string)
    host_key = optional(string)
  })

  validation {
    condition = (
      can(cidrhost("${var.host.address}/32", 0)) || can(cidrhost("${var.host.address}/128", 0)) ||
      (length(var.host.address) <= 253 && can(regex("^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.?$", var.host.address)))
    )
    error_message = "host.address must be an IP address or a DNS name, without a port (\"${var.host.address}\"): pass fediversity_host.<name>.endpoint, or set the port in host.port."
  }
  validation {
    condition     = try(floor(var.host.port) == var.host.port && var.host.port >= 1 && var.host.port <= 65535, false)
    error_message = "host.port must be a whole number from 1 to 65535 (22 when unset)."
  }
  validation {
    condition     = var.host.user == null || can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.host.user))
    error_message = "host.user must be a user name such as \"root\" or \"deploy\" (lower-case letters, digits, '_' or '-'), or null for the provider's user."
  }
  validation {
    condition     = var.host.host_key == null || can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com) AAAA[A-Za-z0-9+/]+=*( .*)?$", var.host.host_key))
    error_message = "host.host_key must be one SSH public key as in known_hosts or authorized_keys, such as \"ssh-ed25519 AAAAC3Nza... root@web1\", or null when the provider's known_hosts_file lists the host."
  }
}

variable "name" {
  description = "The operator's name on its runtime, and the runtime's name unless runtime.name is set: 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.name))
    error_message = "name must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-' (got \"${var.name}\"): e.g. name = \"chessclub\"."
  }
}

variable "domain" {
  description = "The operator's domain, lower case; its applications answer on subdomains of it and its mail is for it."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lower-case DNS name with at least two labels, without scheme or trailing dot (got \"${var.domain}\"): e.g. domain = \"chessclub.example.org\"."
  }
}

variable "contact_email" {
  description = "Where the hosting provider reaches the operator; DMARC reports go there too."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._%+-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.contact_email))
    error_message = "contact_email must be an e-mail address with a lower-case domain (got \"${var.contact_email}\"): e.g. contact_email = \"board@chessclub.example.org\"."
  }
}

variable "applications" {
  description = <<-EOT
    The operator's applications by kind (mastodon, pixelfed, peertube, matrix, nextcloud, immich), each with optional settings:
    version (a supported version; unset, the newest), subdomain (unset, the kind's default: social, pixelfed, video, matrix, cloud, photos),
    registrations_open (default false), user_limit (0, the default, is no limit), retain_data_on_destroy (default true) and
    running (default true; false declares the application, keeping its data, without starting it).
    Example: { mastodon = {}, pixelfed = { registrations_open = true }, matrix = { running = false } }.
  EOT
  type = map(object({
    version                = optional(string)
    subdomain              = optional(string)
    registrations_open     = optional(bool, false)
    user_limit             = optional(number, 0)
    retain_data_on_destroy = optional(bool, true)
    running                = optional(bool, true)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for kind in keys(var.applications) : contains(["mastodon", "pixelfed", "peertube", "matrix", "nextcloud", "immich"], kind)])
    error_message = "applications: unknown kind ${join(", ", [for kind in keys(var.applications) : "\"${kind}\"" if !contains(["mastodon", "pixelfed", "peertube", "matrix", "nextcloud", "immich"], kind)])}: each key must be one of mastodon, pixelfed, peertube, matrix, nextcloud, immich (data.fediversity_applications lists them)."
  }
  validation {
    condition     = alltrue([for app in values(var.applications) : app.subdomain == null || can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", app.subdomain))])
    error_message = "applications: each subdomain must be one DNS label of lower-case letters, digits and inner '-' (e.g. subdomain = \"chat\"), or unset for the kind's default."
  }
  validation {
    # Two applications of one operator on one name would answer for each
    # other, and mail.<domain> is the operator's mail host.
    condition = length(distinct([
      for kind, app in var.applications : coalesce(app.subdomain, lookup({ mastodon = "social", peertube = "video", nextcloud = "cloud", immich = "photos" }, kind, kind))
    ])) == length(var.applications) && !contains([for kind, app in var.applications : coalesce(app.subdomain, "-")], "mail")
    error_message = "applications: each application needs a subdomain of its own, and none may be \"mail\" (the operator's mail host); the defaults are mastodon social, pixelfed pixelfed, peertube video, matrix matrix, nextcloud cloud, immich photos: set subdomain on one of the applications that share one."
  }
  validation {
    condition     = alltrue([for app in values(var.applications) : floor(app.user_limit) == app.user_limit && app.user_limit >= 0 && app.user_limit <= 1000000])
    error_message = "applications: user_limit must be a whole number from 0 (no limit) to 1000000."
  }
  validation {
    condition     = alltrue([for app in values(var.applications) : app.version == null || can(regex("^[0-9][0-9A-Za-z.+~-]*$", app.version))])
    error_message = "applications: version must be a version number such as \"4.4.4\", or unset for the newest the provider supports (data.fediversity_applications lists each kind's versions)."
  }
}

variable "runtime" {
  description = <<-EOT
    The runtime the operator lives on. kind: "container" (the default: a NixOS container of the operator's own, with its own address, database server and mail) or "host" (the host's own system; one such runtime per host).
    name: the runtime's name (default: the operator's name). container_name, build_location ("target" or "local"), nixpkgs, keep_generations, listen_addresses, state_version: as fediversity_runtime takes them; unset, the provider's defaults.
  EOT
  type = object({
    kind             = optional(string, "container")
    name             = optional(string)
    container_name   = optional(string)
    build_location   = optional(string, "target")
    nixpkgs          = optional(string)
    keep_generations = optional(number)
    listen_addresses = optional(list(string))
    state_version    = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["container", "host"], var.runtime.kind)
    error_message = "runtime.kind must be \"container\" (a NixOS container of the operator's own) or \"host\" (the host's own system), not \"${var.runtime.kind}\"."
  }
  validation {
    condition     = var.runtime.name == null || can(regex("^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$", var.runtime.name))
    error_message = "runtime.name must be 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-', or unset for the operator's name."
  }
  validation {
    condition     = var.runtime.container_name == null || (var.runtime.kind == "container" && can(regex("^[a-z][a-z0-9-]{0,10}$", var.runtime.container_name)))
    error_message = "runtime.container_name must be 1-11 lower-case letters, digits or '-' starting with a letter, and only with runtime.kind = \"container\"; unset, the provider derives one from the runtime's name."
  }
  validation {
    condition     = contains(["target", "local"], var.runtime.build_location)
    error_message = "runtime.build_location must be \"target\" (build on the host) or \"local\" (build on the machine running OpenTofu), not \"${var.runtime.build_location}\"."
  }
  validation {
    condition     = var.runtime.keep_generations == null || try(floor(var.runtime.keep_generations) == var.runtime.keep_generations && var.runtime.keep_generations >= 2 && var.runtime.keep_generations <= 100, false)
    error_message = "runtime.keep_generations must be a whole number from 2 to 100, or unset for the provider's default."
  }
}

variable "deploy_after" {
  description = "Anything the operator and its applications must wait for: they are planned to be created only after it. The migration module passes its fediversity_migration, so that the operator adopts what the migration deployed. Leave null otherwise."
  type        = any
  default     = null
}
