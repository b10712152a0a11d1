# The NixOS modules of the stand-in: the subset of real NixOS option names
# that the project's modules set. Per-application modules (mastodon,
# matrix-synapse, ...) are under services/, one file each, and share
# ../lib/standin-app.nix.
[
  ./misc/nixpkgs.nix
  ./misc/assertions.nix
  ./misc/version.nix
  ./config/networking.nix
  ./config/users-groups.nix
  ./config/system-path.nix
  ./system/etc/etc.nix
  ./system/activation/activation-script.nix
  ./system/activation/top-level.nix
  ./system/boot/systemd.nix
  ./system/boot/systemd/tmpfiles.nix
  ./virtualisation/nixos-containers.nix

  # Services.
  ./services/databases/postgresql.nix
  ./services/mail/maddy.nix
  ./services/matrix/synapse.nix
  ./services/misc/fediversity-standin-example.nix
  ./services/web-apps/immich.nix
  ./services/web-apps/mastodon.nix
  ./services/web-apps/nextcloud.nix
  ./services/web-apps/peertube.nix
  ./services/web-apps/pixelfed.nix
  ./services/web-servers/nginx.nix
]
