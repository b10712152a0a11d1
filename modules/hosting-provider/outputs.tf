output "placement" {
  description = "Where each operator lives: operator => host."
  value       = local.placement

  precondition {
    condition     = length(var.operators) <= local.capacity
    error_message = "Insufficient capacity: ${length(var.operators)} operators need a place each, but the hosts' capacities add up to ${local.capacity} (${join(", ", [for host, spec in var.hosts : "${host} ${spec.capacity}"])}): add a host to hosts, raise a host's capacity, or remove operators."
  }
  precondition {
    condition     = alltrue([for operator, host in var.placement : contains(keys(var.operators), operator) && contains(keys(var.hosts), host)])
    error_message = "placement must pin operators of var.operators to hosts of var.hosts; remove or correct: ${join(", ", [for operator, host in var.placement : "${operator} = \"${host}\"" if !(contains(keys(var.operators), operator) && contains(keys(var.hosts), host))])}."
  }
  precondition {
    condition     = alltrue([for room in values(local.room) : room >= 0])
    error_message = "placement pins more operators to a host than its capacity: ${join(", ", [for host, room in local.room : "${host} (capacity ${var.hosts[host].capacity}, ${var.hosts[host].capacity - room} pinned)" if room < 0])}: pin some of them elsewhere, or raise the capacity."
  }
}

output "hosts" {
  description = "Each host's capacity, the operators placed on it and the places left."
  value = {
    for host, spec in var.hosts : host => {
      capacity  = spec.capacity
      operators = sort([for operator, placed in local.placement : operator if placed == host])
      free      = spec.capacity - length([for operator, placed in local.placement : operator if placed == host])
    }
  }
}

output "spilled" {
  description = "Operators that are not on the host they rank first, because it was full when they were placed: a change elsewhere in the fleet can move them. Pin them in placement to keep them where they are."
  value       = sort([for operator, ranked in local.ranking : operator if lookup(local.placement, operator, null) != try(split(" ", ranked[0])[1], null)])
}

output "urls" {
  description = "Each operator's applications' URLs: operator => kind => url."
  value       = { for operator, offering in module.operator : operator => offering.urls }
}

output "dns_records" {
  description = "The records each operator's domain must publish (mail, then applications): operator => list of { name, type, value, ttl }."
  value       = { for operator, offering in module.operator : operator => offering.dns_records }
}

output "targets" {
  description = "Each operator's target (fediversity_operator.target), to add applications or other resources to it."
  value       = { for operator, offering in module.operator : operator => offering.target }
}
