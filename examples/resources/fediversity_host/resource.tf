# A NixOS machine, its SSH host key pinned: no trust on first use.
resource "fediversity_host" "web1" {
  address  = "192.0.2.10"
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@web1"
}

# Refuse to deploy to hosts with an old Nix.
resource "fediversity_host" "web2" {
  address             = "web2.hosting.example"
  port                = 2222
  user                = "deploy"
  host_key            = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmXx2w0kqZrj8W1y5c3oQeV9sT4hN6aL2pD7fG0uJkY root@web2"
  minimum_nix_version = "2.18"
}

output "web1_ready" {
  value = fediversity_host.web1.ready
}
