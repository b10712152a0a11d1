# What `make demo` applies: every sandbox host as a fediversity_host with
# its key pinned, a runtime on the first one, and an operator with a few
# applications. The fleet is read from the file `fediversity-sandbox up`
# prints.
terraform {
  required_providers {
    fediversity = {
      source = "fediversity/fediversity"
    }
  }
}

variable "fleet_file" {
  description = "Path of the JSON printed by `fediversity-sandbox up`."
  type        = string
}

variable "applications" {
  description = "The operator's applications by kind."
  type        = set(string)
  default     = ["mastodon", "matrix", "pixelfed"]
}

locals {
  fleet = jsondecode(file(var.fleet_file))
  hosts = { for h in local.fleet.hosts : h.name => h }
}

provider "fediversity" {
  private_key_file = local.fleet.client_key_path
}

resource "fediversity_host" "this" {
  for_each = local.hosts

  address  = each.value.address
  port     = each.value.port
  host_key = each.value.host_keys[0]
}

resource "fediversity_runtime" "web" {
  name = "web"
  host = fediversity_host.this["host1"].endpoint
}

resource "fediversity_operator" "demo" {
  name          = "demo"
  runtime       = fediversity_runtime.web.target
  domain        = "demo.example"
  contact_email = "board@demo.example"
}

resource "fediversity_application" "this" {
  for_each = var.applications

  operator = fediversity_operator.demo.target
  kind     = each.value
}

output "hosts" {
  description = "What each host reported about itself."
  value = {
    for name, h in fediversity_host.this : name => {
      address     = h.address
      nix_version = h.nix_version
      ready       = h.ready
    }
  }
}

output "applications" {
  description = "Each application's URL and health."
  value = {
    for kind, app in fediversity_application.this : kind => {
      url    = app.url
      health = app.health
    }
  }
}

output "try" {
  description = "Commands that ask each application, over HTTP on the sandbox host's address, for its own domain."
  value = join("\n", [
    for app in fediversity_application.this :
    "curl -sS -H 'Host: ${trimsuffix(trimprefix(app.url, "https://"), "/")}' http://${fediversity_host.this["host1"].address}/.well-known/fediversity/health"
  ])
}

output "ssh_commands" {
  description = "How to log in to each host, verifying its pinned key."
  value = {
    for name, h in local.hosts : name =>
    "ssh -i ${local.fleet.client_key_path} -o UserKnownHostsFile=${var.fleet_file}.known_hosts -o StrictHostKeyChecking=yes root@${h.address}"
  }
}
