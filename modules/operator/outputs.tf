output "urls" {
  description = "Where each application answers, by kind."
  value       = { for kind, app in local.applications : kind => app.url }
}

output "dns_records" {
  description = "Every record the operator's domain must publish: the operator's mail records (mail host, MX, SPF, DKIM, DMARC), then each application's address record, by kind. Each has name, type, value and ttl, ready for a DNS provider's record resource."
  value = concat(
    local.operator.dns_records,
    flatten([for kind in sort(keys(local.applications)) : local.applications[kind].dns_records]),
  )
}

output "applications" {
  description = "Each application by kind: url, subdomain, version (the provider's default when none was pinned) and health."
  value = {
    for kind, app in local.applications : kind => {
      url       = app.url
      subdomain = app.subdomain
      version   = app.version
      health    = app.health
    }
  }
}

output "target" {
  description = "The operator's target (fediversity_operator.target): pass it to further fediversity_application resources of this operator."
  value       = local.operator.target
}

output "runtime" {
  description = "The runtime's target (fediversity_runtime.target): where the operator lives, with the address its DNS records name."
  value       = local.runtime.target
}
