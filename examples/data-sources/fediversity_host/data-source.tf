# Facts of a machine managed elsewhere, e.g. to check room before placing operators.
data "fediversity_host" "spare" {
  address  = "192.0.2.20"
  host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq0o5Yd3l0pZc4fJm9eR1sK2tW7nB8vX6aG3uL0yQhT root@spare"
}

output "spare_free_disk_gib" {
  value = floor(data.fediversity_host.spare.disk_free_bytes / 1073741824)
}
