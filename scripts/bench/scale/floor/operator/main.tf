# modules/operator's three resources, as terraform_data: a runtime, the
# operator on it and one application per kind, each taking the previous
# one's output as its input, as the module passes targets. Like the module,
# it reads each resource once, through a local, and has the module's
# outputs, so that OpenTofu evaluates as many references and outputs here
# as there.

variable "name" {
  type = string
}

variable "host" {
  type = any
}

variable "applications" {
  type = map(any)
}

locals {
  runtime      = terraform_data.runtime
  operator     = terraform_data.operator
  applications = terraform_data.application
}

resource "terraform_data" "runtime" {
  input = { host = var.host, name = var.name, kind = "container" }
}

resource "terraform_data" "operator" {
  input = {
    runtime     = local.runtime.output
    name        = var.name
    domain      = "${var.name}.example"
    dns_records = [{ name = "${var.name}.example", type = "MX", value = "mail.${var.name}.example", ttl = 3600 }]
  }
}

resource "terraform_data" "application" {
  for_each = var.applications

  input = {
    operator    = local.operator.output
    kind        = each.key
    settings    = each.value
    url         = "https://${each.key}.${var.name}.example/"
    dns_records = [{ name = "${each.key}.${var.name}.example", type = "A", value = "127.0.0.1", ttl = 3600 }]
  }
}

output "urls" {
  value = { for kind, app in local.applications : kind => app.output.url }
}

output "dns_records" {
  value = concat(
    local.operator.output.dns_records,
    flatten([for kind in sort(keys(local.applications)) : local.applications[kind].output.dns_records]),
  )
}

output "applications" {
  value = {
    for kind, app in local.applications : kind => {
      url      = app.output.url
      kind     = app.output.kind
      settings = app.output.settings
    }
  }
}

output "target" {
  value = local.operator.output
}

output "runtime" {
  value = local.runtime.output
}
