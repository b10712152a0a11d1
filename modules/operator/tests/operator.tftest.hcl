# Runs without hosts: the provider is mocked. Computed values the provider
# validates when they are passed on (targets) get valid defaults; the rest
# are what the assertions below look for.
mock_provider "fediversity" {
  mock_resource "fediversity_runtime" {
    defaults = {
      address = "10.233.0.2"
      target = {
        host      = { address = "192.0.2.10", port = 22, user = null, host_key = null }
        name      = "chessclub"
        kind      = "container"
        container = "chessclub"
        address   = "10.233.0.2"
      }
    }
  }
  mock_resource "fediversity_operator" {
    defaults = {
      target = {
        runtime = {
          host      = { address = "192.0.2.10", port = 22, user = null, host_key = null }
          name      = "chessclub"
          kind      = "container"
          container = "chessclub"
          address   = "10.233.0.2"
        }
        name   = "chessclub"
        domain = "chessclub.example.org"
      }
      dns_records = [
        { name = "mail.chessclub.example.org", type = "A", value = "10.233.0.2", ttl = 3600 },
        { name = "chessclub.example.org", type = "MX", value = "10 mail.chessclub.example.org.", ttl = 3600 },
        { name = "chessclub.example.org", type = "TXT", value = "v=spf1 mx -all", ttl = 3600 },
        { name = "default._domainkey.chessclub.example.org", type = "TXT", value = "v=DKIM1; k=rsa; p=MIIB", ttl = 3600 },
        { name = "_dmarc.chessclub.example.org", type = "TXT", value = "v=DMARC1; p=quarantine; rua=mailto:board@chessclub.example.org", ttl = 3600 },
      ]
    }
  }
  mock_resource "fediversity_application" {
    defaults = {
      url         = "https://app.chessclub.example.org/"
      health      = "ok"
      dns_records = [{ name = "app.chessclub.example.org", type = "A", value = "10.233.0.2", ttl = 3600 }]
    }
  }
}

variables {
  host = {
    address  = "192.0.2.10"
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@web1"
  }
  name          = "chessclub"
  domain        = "chessclub.example.org"
  contact_email = "board@chessclub.example.org"
  applications = {
    mastodon = {}
    pixelfed = { registrations_open = true }
  }
}

run "a_container_runtime_the_operator_and_one_application_per_entry" {
  command = plan

  assert {
    condition     = fediversity_runtime.this.kind == "container" && fediversity_runtime.this.name == "chessclub"
    error_message = "The runtime is a container named after the operator by default."
  }
  assert {
    condition = (
      fediversity_runtime.this.host.address == "192.0.2.10" &&
      fediversity_runtime.this.host.port == 22 &&
      fediversity_runtime.this.host.user == null &&
      startswith(fediversity_runtime.this.host.host_key, "ssh-ed25519 AAAAC3")
    )
    error_message = "The runtime is on the given host, port 22 by default."
  }
  assert {
    condition     = fediversity_runtime.this.build_location == "target"
    error_message = "The runtime builds on the host unless told otherwise."
  }
  assert {
    condition = (
      fediversity_operator.this.name == "chessclub" &&
      fediversity_operator.this.domain == "chessclub.example.org" &&
      fediversity_operator.this.contact_email == "board@chessclub.example.org"
    )
    error_message = "The operator carries the given name, domain and contact."
  }
  assert {
    condition     = fediversity_operator.this.runtime == fediversity_runtime.this.target
    error_message = "The operator is on the module's runtime."
  }
  assert {
    condition     = keys(fediversity_application.this) == ["mastodon", "pixelfed"]
    error_message = "One fediversity_application per entry of applications."
  }
  assert {
    condition     = alltrue([for kind, app in fediversity_application.this : app.kind == kind && app.operator == fediversity_operator.this.target])
    error_message = "Each application has its key as kind and belongs to the module's operator."
  }
  assert {
    condition     = fediversity_application.this["pixelfed"].registrations_open && !fediversity_application.this["mastodon"].registrations_open
    error_message = "registrations_open reaches the application that sets it and defaults to false."
  }
  assert {
    condition = alltrue([
      for app in values(fediversity_application.this) : app.user_limit == 0 && app.retain_data_on_destroy
    ])
    error_message = "user_limit defaults to 0 (no limit) and retain_data_on_destroy to true, as the provider's."
  }
  assert {
    condition     = alltrue([for app in values(fediversity_application.this) : app.running])
    error_message = "running defaults to true, as the provider's."
  }
}

run "every_application_setting_reaches_its_resource" {
  command = plan

  variables {
    applications = {
      matrix = {
        version                = "1.140.0"
        subdomain              = "chat"
        registrations_open     = true
        user_limit             = 100
        retain_data_on_destroy = false
        running                = false
      }
      mastodon = { version = "4.3.13" }
    }
  }

  assert {
    condition = (
      fediversity_application.this["matrix"].version == "1.140.0" &&
      fediversity_application.this["matrix"].subdomain == "chat" &&
      fediversity_application.this["matrix"].registrations_open &&
      fediversity_application.this["matrix"].user_limit == 100 &&
      !fediversity_application.this["matrix"].retain_data_on_destroy &&
      !fediversity_application.this["matrix"].running
    )
    error_message = "version, subdomain, registrations_open, user_limit, retain_data_on_destroy and running reach the application."
  }
  assert {
    condition     = fediversity_application.this["mastodon"].version == "4.3.13" && fediversity_application.this["mastodon"].retain_data_on_destroy && fediversity_application.this["mastodon"].running
    error_message = "Settings of one application do not leak into another."
  }
}

run "a_host_runtime_when_asked" {
  command = plan

  variables {
    runtime = { kind = "host", name = "web1", build_location = "local", keep_generations = 5 }
  }

  assert {
    condition = (
      fediversity_runtime.this.kind == "host" &&
      fediversity_runtime.this.name == "web1" &&
      fediversity_runtime.this.build_location == "local" &&
      fediversity_runtime.this.keep_generations == 5
    )
    error_message = "runtime settings reach fediversity_runtime."
  }
  assert {
    condition     = fediversity_operator.this.name == "chessclub"
    error_message = "The operator keeps its own name on a runtime named otherwise."
  }
}

run "outputs" {
  command = plan

  assert {
    condition     = output.urls == { mastodon = "https://app.chessclub.example.org/", pixelfed = "https://app.chessclub.example.org/" }
    error_message = "urls maps each kind to its application's url."
  }
  assert {
    condition     = length(output.dns_records) == 7 && output.dns_records[0].type == "A" && output.dns_records[1].type == "MX"
    error_message = "dns_records lists the operator's five mail records, then each application's record."
  }
  assert {
    condition     = jsonencode(slice(output.dns_records, 5, 7)) == jsonencode(concat(fediversity_application.this["mastodon"].dns_records, fediversity_application.this["pixelfed"].dns_records))
    error_message = "The applications' records follow the operator's, by kind."
  }
  assert {
    condition     = output.target == fediversity_operator.this.target && output.runtime == fediversity_runtime.this.target
    error_message = "target and runtime are the operator's and the runtime's targets."
  }
  assert {
    condition     = output.applications["pixelfed"].health == "ok" && output.applications["pixelfed"].url == output.urls["pixelfed"]
    error_message = "applications describes each application."
  }
}

run "no_applications" {
  command = plan

  variables {
    applications = {}
  }

  assert {
    condition     = length(fediversity_application.this) == 0 && output.urls == {} && length(output.dns_records) == 5
    error_message = "An operator without applications still publishes its mail records."
  }
}

# Validation: each bad value is refused by the variable that carries it,
# before anything is planned.

run "an_empty_name_is_refused" {
  command = plan
  variables { name = "" }
  expect_failures = [var.name]
}

run "a_name_with_capitals_is_refused" {
  command = plan
  variables { name = "ChessClub" }
  expect_failures = [var.name]
}

run "a_bad_domain_is_refused" {
  command = plan
  variables { domain = "https://chessclub.example.org/" }
  expect_failures = [var.domain]
}

run "a_single_label_domain_is_refused" {
  command = plan
  variables { domain = "localhost" }
  expect_failures = [var.domain]
}

run "a_bad_contact_email_is_refused" {
  command = plan
  variables { contact_email = "board at chessclub" }
  expect_failures = [var.contact_email]
}

run "an_unknown_application_kind_is_refused" {
  command = plan
  variables {
    applications = { mastodon = {}, friendica = {} }
  }
  expect_failures = [var.applications]
}

run "two_applications_on_one_subdomain_are_refused" {
  command = plan
  variables {
    applications = { mastodon = {}, pixelfed = { subdomain = "social" } }
  }
  expect_failures = [var.applications]
}

run "an_application_on_the_mail_host_is_refused" {
  command = plan
  variables {
    applications = { nextcloud = { subdomain = "mail" } }
  }
  expect_failures = [var.applications]
}

run "a_negative_user_limit_is_refused" {
  command = plan
  variables {
    applications = { mastodon = { user_limit = -1 } }
  }
  expect_failures = [var.applications]
}

run "an_unknown_runtime_kind_is_refused" {
  command = plan
  variables {
    runtime = { kind = "vm" }
  }
  expect_failures = [var.runtime]
}

run "a_container_name_on_a_host_runtime_is_refused" {
  command = plan
  variables {
    runtime = { kind = "host", container_name = "chess" }
  }
  expect_failures = [var.runtime]
}

run "a_host_address_with_a_port_is_refused" {
  command = plan
  variables {
    host = { address = "192.0.2.10:22" }
  }
  expect_failures = [var.host]
}

run "a_host_port_out_of_range_is_refused" {
  command = plan
  variables {
    host = { address = "192.0.2.10", port = 0 }
  }
  expect_failures = [var.host]
}
