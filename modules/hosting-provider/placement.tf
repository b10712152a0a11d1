# Placement of operators onto hosts by capacity, computed from names alone.
#
# Each operator ranks the hosts by weighted rendezvous (highest random
# weight) hashing: host h scores -ln(u) / capacity(h) for operator o, where
# u in (0, 1) is read from sha256("o@h"), and the lowest score ranks first.
# An operator's ranking depends on its own name and the hosts' names and
# capacities and on nothing else, and a host is ranked first by a share of
# operators proportional to its capacity. Pinned operators (var.placement)
# go where they are pinned and use up room first. Then, in rounds, every
# operator still waiting asks for the host it ranks first among those with
# room left; a host takes as many as it has room for, lowest score first;
# the others try their next host in the next round. Whatever a round places
# stays placed.
#
# Stability: while every host has room for all the operators that rank it
# first, each operator sits on its first choice, so adding or removing an
# operator moves no other. Once a host is full, a newcomer that scores
# lower than the last operator it took takes that place, and the operator
# displaced moves to its next host: no placement computed from names alone
# can avoid that (two hosts of room one and two operators that both rank
# the same host first: whichever came second must go elsewhere, but names
# do not say which came first). Changing a host's capacity changes its
# scores, and adding a host takes its share from the others: both can move
# unpinned operators. output.spilled lists the operators that are not on
# their first choice; pin operators in var.placement to keep them where they
# are whatever changes.

locals {
  # Pins that name an operator and a host; output.placement reports others.
  pinned = {
    for operator, host in var.placement : operator => host
    if contains(keys(var.operators), operator) && contains(keys(var.hosts), host)
  }

  # Unpinned operator => the hosts that take operators, as "<score> <host>",
  # best first. 13 hex digits are 52 bits, a float64's mantissa; the score
  # is printed fixed-width so that sorting the text sorts the numbers.
  ranking = {
    for operator in keys(var.operators) : operator => sort([
      for host, spec in var.hosts :
      format("%024.15f %s", -log((parseint(substr(sha256("${operator}@${host}"), 0, 13), 16) + 0.5) / pow(2, 52), 2.718281828459045) / spec.capacity, host)
      if spec.capacity > 0
    ])
    if !contains(keys(local.pinned), operator)
  }

  room = {
    for host, spec in var.hosts : host => spec.capacity - length([for operator, pin in local.pinned : operator if pin == host])
  }
}

# A round that leaves someone waiting who could still be placed has filled
# at least one more host, so as many rounds as hosts place everyone that
# fits. Four cover most fleets; whoever is still waiting after them takes
# the free places left, host by host in name order.
module "round1" {
  source  = "./round"
  ranking = local.ranking
  placed  = local.pinned
  room    = local.room
}

module "round2" {
  source  = "./round"
  ranking = local.ranking
  placed  = module.round1.placed
  room    = module.round1.room
}

module "round3" {
  source  = "./round"
  ranking = local.ranking
  placed  = module.round2.placed
  room    = module.round2.room
}

module "round4" {
  source  = "./round"
  ranking = local.ranking
  placed  = module.round3.placed
  room    = module.round3.room
}

locals {
  leftover    = sort([for operator in keys(local.ranking) : operator if !contains(keys(module.round4.placed), operator)])
  free_places = flatten([for host in sort(keys(module.round4.room)) : [for _ in range(max(module.round4.room[host], 0)) : host]])

  # operator => host, for every operator there is room for.
  placement = merge(module.round4.placed, {
    for i, operator in local.leftover : operator => local.free_places[i] if i < length(local.free_places)
  })

  capacity = sum(concat([0], [for spec in values(var.hosts) : spec.capacity]))
}
