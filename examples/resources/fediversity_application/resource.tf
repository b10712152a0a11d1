# Mastodon at social.chessclub.example.org, the newest supported version.
resource "fediversity_application" "mastodon" {
  operator = fediversity_operator.chess_club.target
  kind     = "mastodon"
}

# Matrix pinned to a version, open for sign-ups up to 100 accounts; its data
# is deleted with it.
resource "fediversity_application" "matrix" {
  operator               = fediversity_operator.chess_club.target
  kind                   = "matrix"
  subdomain              = "chat"
  version                = "1.140.0"
  registrations_open     = true
  user_limit             = 100
  retain_data_on_destroy = false
}

# Nextcloud declared but not started: its configuration, secrets and data
# stay on the host; running = true starts it again.
resource "fediversity_application" "nextcloud" {
  operator = fediversity_operator.chess_club.target
  kind     = "nextcloud"
  running  = false
}

output "mastodon_url" {
  value = fediversity_application.mastodon.url
}
