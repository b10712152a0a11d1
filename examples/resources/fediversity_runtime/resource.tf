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

# One operator's own NixOS container on the same host, with its own address,
# database server and mail. Its name is too long for nixos-container, so the
# container gets a stable short one (see container_name).
resource "fediversity_runtime" "riverside" {
  name = "riverside-rowing-club"
  host = fediversity_host.web1.endpoint
  kind = "container"
}

# A container built on the machine running OpenTofu, against a nixpkgs
# checked out there; only the store paths the host lacks are sent to it.
resource "fediversity_runtime" "school" {
  name           = "school"
  host           = fediversity_host.web1.endpoint
  kind           = "container"
  build_location = "local"
  nixpkgs        = "/srv/nixpkgs"
}
