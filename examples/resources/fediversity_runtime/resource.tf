resource "fediversity_host" "web1" {
  address  = "192.0.2.10"
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@web1"
}

# The host's own NixOS system, built on the host against a pinned nixpkgs.
resource "fediversity_runtime" "web1" {
  name             = "web1"
  host             = fediversity_host.web1.endpoint
  nixpkgs          = "/nix/var/nix/profiles/per-user/root/channels/nixos"
  keep_generations = 5
}
