# modules/operator's three resources, as terraform_data: a runtime, the
# operator on it and one application per kind, each taking the previous
# one's output as its input, as the module passes targets.

variable "name" {
  type = string
}

variable "host" {
  type = any
}

variable "applications" {
  type = map(any)
}

resource "terraform_data" "runtime" {
  input = { host = var.host, name = var.name, kind = "container" }
}

resource "terraform_data" "operator" {
  input = { runtime = terraform_data.runtime.output, name = var.name, domain = "${var.name}.example" }
}

resource "terraform_data" "application" {
  for_each = var.applications

  input = { operator = terraform_data.operator.output, kind = each.key, settings = each.value }
}
