data "fediversity_applications" "all" {}

# The versions of Mastodon this provider deploys, newest first.
output "mastodon_versions" {
  value = data.fediversity_applications.all.applications["mastodon"].versions
}
