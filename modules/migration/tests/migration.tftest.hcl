# Runs without hosts: the provider is mocked. The migration's computed
# attributes get what a finished migration of riverside (Mastodon and
# Matrix) reports.
mock_provider "fediversity" {
  mock_resource "fediversity_runtime" {
    defaults = {
      target = {
        host      = { address = "192.0.2.20", port = 22, user = null, host_key = null }
        name      = "riverside"
        kind      = "container"
        container = "riverside"
        address   = "10.233.0.7"
      }
    }
  }
  mock_resource "fediversity_operator" {
    defaults = {
      target = {
        runtime = {
          host      = { address = "192.0.2.20", port = 22, user = null, host_key = null }
          name      = "riverside"
          kind      = "container"
          container = "riverside"
          address   = "10.233.0.7"
        }
        name   = "riverside"
        domain = "riverside.example.org"
      }
    }
  }
  mock_resource "fediversity_migration" {
    defaults = {
      id    = "192.0.2.20:22/riverside/riverside"
      phase = "start"
      applications = [
        { kind = "mastodon", subdomain = "social", version = "4.3.13" },
        { kind = "matrix", subdomain = "chat", version = "1.140.0" },
      ]
      moves = [
        { what = "database mastodon", bytes = 52428800 },
        { what = "/var/lib/mastodon", bytes = 1073741824 },
      ]
      dns_records = [
        { name = "social.riverside.example.org", type = "A", value = "10.233.0.7", ttl = 3600 },
        { name = "chat.riverside.example.org", type = "A", value = "10.233.0.7", ttl = 3600 },
        { name = "riverside.example.org", type = "MX", value = "10 mail.riverside.example.org.", ttl = 3600 },
      ]
    }
  }
}

variables {
  host = {
    address  = "192.0.2.20"
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@new1"
  }
  name          = "riverside"
  domain        = "riverside.example.org"
  contact_email = "board@riverside.example.org"
  applications = {
    mastodon = { subdomain = "social", version = "4.3.13" }
    matrix   = { subdomain = "chat", version = "1.140.0" }
  }
  from = {
    host = {
      address  = "198.51.100.7"
      host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq0q9xX6zJ3bT5m8yJc1Zk4v2pVnQ0tW7sLr3eF9aGd root@old-provider"
    }
    private_key_file = "/etc/fediversity/keys/old-provider-handover"
  }
}

run "the_migration_pulls_the_operator_onto_the_new_runtime" {
  command = plan

  assert {
    condition     = fediversity_migration.this.operator == "riverside" && fediversity_migration.this.source.runtime == "riverside"
    error_message = "The migration moves the operator from the runtime of its own name at the source by default."
  }
  assert {
    condition = (
      fediversity_migration.this.source.host.address == "198.51.100.7" &&
      fediversity_migration.this.source.host.port == 22 &&
      fediversity_migration.this.source.private_key_file == "/etc/fediversity/keys/old-provider-handover" &&
      fediversity_migration.this.source.private_key == null
    )
    error_message = "The source is the old provider's machine, reached with the key it handed over."
  }
  assert {
    condition     = fediversity_migration.this.target == module.operator.runtime
    error_message = "The migration's target is the operator module's runtime."
  }
  assert {
    condition     = !fediversity_migration.this.finalize
    error_message = "finalize is false until asked for."
  }
}

run "the_operator_and_its_applications_are_adopted" {
  command = plan

  assert {
    condition     = toset(keys(output.urls)) == toset(["mastodon", "matrix"])
    error_message = "One application per declared kind is declared on top of the migration."
  }
  assert {
    condition     = output.target == module.operator.target
    error_message = "target is the adopting operator's."
  }
}

run "outputs" {
  command = plan

  assert {
    condition     = output.phase == "start"
    error_message = "phase is the migration's."
  }
  assert {
    condition     = length(output.dns_records_to_switch) == 3 && output.dns_records_to_switch[0].name == "social.riverside.example.org"
    error_message = "dns_records_to_switch are the migration's records."
  }
  assert {
    condition     = sum([for move in output.moves : move.bytes]) == 1126170624
    error_message = "moves are the migration's measurements."
  }
  assert {
    condition     = length(output.migrated_applications) == 2
    error_message = "migrated_applications are what the migration moved."
  }
}

run "finalize_on_a_later_apply" {
  command = plan

  variables {
    finalize = true
    from = {
      host             = { address = "198.51.100.7", port = 2222 }
      runtime          = "riverside-rowing"
      private_key_file = "/etc/fediversity/keys/old-provider-handover"
    }
  }

  assert {
    condition     = fediversity_migration.this.finalize
    error_message = "finalize reaches the migration."
  }
  assert {
    condition     = fediversity_migration.this.source.runtime == "riverside-rowing" && fediversity_migration.this.source.host.port == 2222
    error_message = "from.runtime and from.host.port reach the migration's source."
  }
}

run "declaring_other_applications_than_those_migrated_is_reported" {
  command = plan

  variables {
    applications = {
      mastodon = { subdomain = "social", version = "4.3.13" }
      pixelfed = {}
    }
  }

  expect_failures = [check.adoption]
}

run "declaring_another_version_than_the_one_migrated_is_reported" {
  command = plan

  variables {
    applications = {
      mastodon = { subdomain = "social", version = "4.4.4" }
      matrix   = { subdomain = "chat", version = "1.140.0" }
    }
  }

  expect_failures = [check.adoption]
}

run "a_bad_source_runtime_is_refused" {
  command = plan
  variables {
    from = {
      host    = { address = "198.51.100.7" }
      runtime = "-riverside"
    }
  }
  expect_failures = [var.from]
}

run "a_source_port_out_of_range_is_refused" {
  command = plan
  variables {
    from = {
      host = { address = "198.51.100.7", port = 70000 }
    }
  }
  expect_failures = [var.from]
}
