# One round of placement (see ../placement.tf): every operator still
# waiting asks for the host it ranks first among those with room left; a
# host takes as many as it has room for, lowest score first, and the rest
# wait for the next round. What a round places stays placed. Pure
# computation: no resources.

variable "ranking" {
  description = "Each operator's hosts as \"<score> <host>\", best (lowest score) first; scores are fixed-width, so they sort as text."
  type        = map(list(string))
}

variable "placed" {
  description = "Operators placed so far: operator => host."
  type        = map(string)
}

variable "room" {
  description = "Operators each host can still take: host => number."
  type        = map(number)
}

locals {
  # operator => "<score> <host>" of its best host with room, for those waiting.
  asks = {
    for operator, hosts in var.ranking : operator => [for entry in hosts : entry if var.room[split(" ", entry)[1]] > 0][0]
    if !contains(keys(var.placed), operator) && anytrue([for entry in hosts : var.room[split(" ", entry)[1]] > 0])
  }
  # host => the operators asking for it, lowest score first.
  queues = {
    for host in keys(var.room) : host => [
      for entry in sort([for operator, ask in local.asks : "${split(" ", ask)[0]} ${operator}" if split(" ", ask)[1] == host]) : split(" ", entry)[1]
    ]
  }
  taken = merge({}, [
    for host, queue in local.queues : { for operator in slice(queue, 0, min(length(queue), max(var.room[host], 0))) : operator => host }
  ]...)
}

output "placed" {
  description = "Operators placed so far, this round's included."
  value       = merge(var.placed, local.taken)
}

output "room" {
  description = "Operators each host can still take after this round."
  value       = { for host, room in var.room : host => room - length([for operator, taken in local.taken : operator if taken == host]) }
}
