terraform {
  required_providers {
    fediversity = {
      source = "fediversity/fediversity"
    }
  }
}

# Credentials come from files or an agent, never from state.
provider "fediversity" {
  user             = "root"
  private_key_file = "~/.ssh/id_ed25519_deploy"
  # Pins keys for hosts that set no host_key. Never read implicitly.
  known_hosts_file = "${path.module}/known_hosts"

  connect_timeout    = "30s"
  command_timeout    = "10m"
  keepalive_interval = "15s"
}
