# Runs without hosts: the provider is mocked. Every host's endpoint and every
# target get the same valid default (mocks cannot tell instances apart), so
# where operators land is asserted on output.placement and output.hosts.
mock_provider "fediversity" {
  mock_resource "fediversity_host" {
    defaults = {
      endpoint = { address = "192.0.2.11", port = 22, user = null, host_key = null }
    }
  }
  mock_resource "fediversity_runtime" {
    defaults = {
      target = {
        host      = { address = "192.0.2.11", port = 22, user = null, host_key = null }
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
          host      = { address = "192.0.2.11", port = 22, user = null, host_key = null }
          name      = "chessclub"
          kind      = "container"
          container = "chessclub"
          address   = "10.233.0.2"
        }
        name   = "chessclub"
        domain = "chessclub.example.org"
      }
      dns_records = [{ name = "mail.chessclub.example.org", type = "A", value = "10.233.0.2", ttl = 3600 }]
    }
  }
  mock_resource "fediversity_application" {
    defaults = {
      url         = "https://app.chessclub.example.org/"
      dns_records = [{ name = "app.chessclub.example.org", type = "A", value = "10.233.0.2", ttl = 3600 }]
    }
  }
}

variables {
  hosts = {
    web1 = { address = "192.0.2.11", host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@web1", capacity = 4 }
    web2 = { address = "192.0.2.12", port = 2222, capacity = 4 }
    web3 = { address = "192.0.2.13", capacity = 4 }
  }
  operators = {
    chessclub  = { domain = "chessclub.example.org", contact_email = "board@chessclub.example.org", applications = { mastodon = {}, pixelfed = { registrations_open = true } } }
    rowing     = { domain = "rowing.example.org", contact_email = "board@rowing.example.org", applications = { matrix = {} } }
    school     = { domain = "school.example.org", contact_email = "it@school.example.org", applications = { nextcloud = { user_limit = 400 } } }
    choir      = { domain = "choir.example.org", contact_email = "board@choir.example.org" }
    library    = { domain = "library.example.org", contact_email = "it@library.example.org", applications = { peertube = {} } }
    makerspace = { domain = "makerspace.example.org", contact_email = "board@makerspace.example.org", applications = { immich = {} } }
  }
}

# --- Wiring ------------------------------------------------------------------

run "a_host_per_entry_and_an_operator_offering_per_operator" {
  command = plan

  assert {
    condition = (
      toset(keys(fediversity_host.this)) == toset(["web1", "web2", "web3"]) &&
      fediversity_host.this["web1"].address == "192.0.2.11" && fediversity_host.this["web1"].port == 22 &&
      startswith(fediversity_host.this["web1"].host_key, "ssh-ed25519 ") &&
      fediversity_host.this["web2"].port == 2222 && fediversity_host.this["web2"].host_key == null
    )
    error_message = "One fediversity_host per entry of hosts, with its address, port and key."
  }
  assert {
    condition     = toset(keys(output.targets)) == toset(keys(var.operators)) && toset(keys(output.dns_records)) == toset(keys(var.operators))
    error_message = "Every operator gets an operator offering."
  }
  assert {
    condition     = toset(keys(output.urls["chessclub"])) == toset(["mastodon", "pixelfed"]) && toset(keys(output.urls["school"])) == toset(["nextcloud"]) && length(output.urls["choir"]) == 0
    error_message = "urls lists each operator's own applications."
  }
  assert {
    condition     = length(output.dns_records["chessclub"]) == 3 && length(output.dns_records["choir"]) == 1
    error_message = "dns_records lists each operator's mail records and its applications' records."
  }
}

# --- Placement: stability -------------------------------------------------------
#
# Assertions cannot read an earlier run's outputs, but variables can: the
# runs that change the fleet use tests/changed, which places the changed
# fleet and compares it with the placement of an earlier run (`before`).

run "six_operators" {
  # apply: later runs read its outputs, which only applied runs keep.
  command = apply

  assert {
    condition     = length(output.placement) == 6 && alltrue([for host in values(output.placement) : contains(keys(var.hosts), host)])
    error_message = "Every operator is placed on a host of the fleet."
  }
  assert {
    condition     = alltrue([for host, spec in output.hosts : length(spec.operators) <= var.hosts[host].capacity && spec.free == var.hosts[host].capacity - length(spec.operators)])
    error_message = "No host takes more operators than its capacity."
  }
  assert {
    condition     = length(output.spilled) == 0
    error_message = "With room to spare everywhere, every operator is on the host it ranks first."
  }
}

run "the_same_fleet_places_the_same_way" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before = run.six_operators.placement
  }

  assert {
    condition     = jsonencode(output.placement) == jsonencode(var.before)
    error_message = "Placement is a function of the names and capacities: ${jsonencode(output.placement)}."
  }
}

run "one_more_operator_moves_no_other" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before = run.six_operators.placement
    operators = {
      for name in ["chessclub", "rowing", "school", "choir", "library", "makerspace", "bakery"] :
      name => { domain = "${name}.example.org", contact_email = "board@${name}.example.org" }
    }
  }

  assert {
    condition     = length(output.moved) == 0
    error_message = "Adding bakery moved ${join(", ", output.moved)}: before ${jsonencode(var.before)}, after ${jsonencode(output.placement)}."
  }
  assert {
    condition     = length(output.placement) == 7 && contains(keys(var.hosts), output.placement["bakery"])
    error_message = "The new operator is placed."
  }
}

run "one_operator_fewer_moves_no_other" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before = run.six_operators.placement
    operators = {
      for name in ["chessclub", "rowing", "school", "library", "makerspace"] :
      name => { domain = "${name}.example.org", contact_email = "board@${name}.example.org" }
    }
  }

  assert {
    condition     = length(output.moved) == 0 && length(output.placement) == 5
    error_message = "Removing choir moved ${join(", ", output.moved)}: before ${jsonencode(var.before)}, after ${jsonencode(output.placement)}."
  }
}

run "pins_keep_every_operator_in_place_while_a_host_joins" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before    = run.six_operators.placement
    placement = run.six_operators.placement
    hosts = {
      web1 = { address = "192.0.2.11", capacity = 4 }
      web2 = { address = "192.0.2.12", capacity = 4 }
      web3 = { address = "192.0.2.13", capacity = 4 }
      web4 = { address = "192.0.2.14", capacity = 40 }
    }
  }

  assert {
    condition     = length(output.moved) == 0 && length(output.hosts["web4"].operators) == 0
    error_message = "Pinning every operator where it was keeps it there when a large host joins; moved: ${join(", ", output.moved)}."
  }
}

run "twenty_operators" {
  # apply: later runs read its outputs.
  command = apply

  variables {
    hosts     = { for i in range(1, 5) : "web${i}" => { address = "192.0.2.${10 + i}", capacity = 10 } }
    operators = { for i in range(20) : "operator-${i}" => { domain = "operator-${i}.example.org", contact_email = "board@operator-${i}.example.org" } }
  }

  assert {
    condition     = length(output.placement) == 20 && alltrue([for spec in values(output.hosts) : spec.free >= 0]) && length(output.spilled) == 0
    error_message = "Twenty operators fit on four hosts of ten, each on its first choice."
  }
}

run "a_twenty_first_operator_moves_none_of_the_twenty" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before    = run.twenty_operators.placement
    hosts     = { for i in range(1, 5) : "web${i}" => { address = "192.0.2.${10 + i}", capacity = 10 } }
    operators = { for i in range(21) : "operator-${i}" => { domain = "operator-${i}.example.org", contact_email = "board@operator-${i}.example.org" } }
  }

  assert {
    condition     = length(output.moved) == 0 && length(output.placement) == 21
    error_message = "Adding operator-20 moved ${join(", ", output.moved)}."
  }
}

run "removing_one_of_the_twenty_moves_no_other" {
  command = plan
  module {
    source = "./tests/changed"
  }
  variables {
    before    = run.twenty_operators.placement
    hosts     = { for i in range(1, 5) : "web${i}" => { address = "192.0.2.${10 + i}", capacity = 10 } }
    operators = { for i in range(20) : "operator-${i}" => { domain = "operator-${i}.example.org", contact_email = "board@operator-${i}.example.org" } if i != 7 }
  }

  assert {
    condition     = length(output.moved) == 0 && length(output.placement) == 19
    error_message = "Removing operator-7 moved ${join(", ", output.moved)}."
  }
}

# --- Placement: capacity ---------------------------------------------------------

run "a_full_fleet_fills_every_host_to_its_capacity" {
  command = plan

  variables {
    hosts = {
      web1 = { address = "192.0.2.11", capacity = 1 }
      web2 = { address = "192.0.2.12", capacity = 2 }
      web3 = { address = "192.0.2.13", capacity = 3 }
    }
  }

  assert {
    condition     = length(output.placement) == 6 && alltrue([for host, spec in output.hosts : spec.free == 0 && length(spec.operators) == var.hosts[host].capacity])
    error_message = "Six operators on capacities 1, 2 and 3 fill each host exactly: ${jsonencode(output.hosts)}."
  }
}

run "a_host_of_capacity_zero_takes_no_one" {
  command = plan

  variables {
    hosts = {
      web1 = { address = "192.0.2.11", capacity = 5 }
      web2 = { address = "192.0.2.12", capacity = 1 }
      web3 = { address = "192.0.2.13", capacity = 0 }
    }
  }

  assert {
    condition     = length(output.hosts["web3"].operators) == 0 && length(output.hosts["web2"].operators) <= 1 && length(output.placement) == 6
    error_message = "Capacity 0 takes no operator and capacity 1 at most one: ${jsonencode(output.hosts)}."
  }
}

run "a_pinned_operator_goes_where_it_is_pinned_and_uses_up_room" {
  command = plan

  variables {
    hosts = {
      web1 = { address = "192.0.2.11", capacity = 5 }
      web2 = { address = "192.0.2.12", capacity = 5 }
      web3 = { address = "192.0.2.13", capacity = 1 }
    }
    placement = { school = "web3" }
  }

  assert {
    condition     = output.placement["school"] == "web3" && output.hosts["web3"].operators == tolist(["school"])
    error_message = "school is on web3, which has room for no one else."
  }
}

# --- Validation ------------------------------------------------------------------

run "insufficient_capacity_is_refused" {
  command = plan

  variables {
    hosts = {
      web1 = { address = "192.0.2.11", capacity = 2 }
      web2 = { address = "192.0.2.12", capacity = 3 }
    }
  }

  expect_failures = [output.placement]
}

run "a_pin_to_an_unknown_host_is_refused" {
  command = plan

  variables {
    placement = { choir = "web9" }
  }

  expect_failures = [output.placement]
}

run "pins_beyond_a_hosts_capacity_are_refused" {
  command = plan

  variables {
    placement = { choir = "web1", school = "web1", rowing = "web1", library = "web1", makerspace = "web1" }
  }

  expect_failures = [output.placement]
}

run "an_operator_name_with_capitals_is_refused" {
  command = plan

  variables {
    operators = { ChessClub = { domain = "chessclub.example.org", contact_email = "board@chessclub.example.org" } }
  }

  expect_failures = [var.operators]
}

run "two_operators_on_one_domain_are_refused" {
  command = plan

  variables {
    operators = {
      chessclub = { domain = "club.example.org", contact_email = "board@club.example.org" }
      rowing    = { domain = "club.example.org", contact_email = "board@club.example.org" }
    }
  }

  expect_failures = [var.operators]
}

run "a_fleet_without_hosts_is_refused" {
  command = plan

  variables {
    hosts     = {}
    operators = {}
  }

  expect_failures = [var.hosts]
}

run "a_negative_capacity_is_refused" {
  command = plan

  variables {
    hosts = { web1 = { address = "192.0.2.11", capacity = -1 } }
  }

  expect_failures = [var.hosts]
}

