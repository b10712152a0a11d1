# Nextcloud, through NixOS's services.nextcloud, on PostgreSQL; the module
# configures nginx itself. The admin password is generated on the host.
# Never change its data directory casually: Nextcloud records the path.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "nextcloud";
  app = fed.single "nextcloud" apps;
  # nixpkgs has a package per major version: nextcloud31, ...
  attribute = "nextcloud" + builtins.head (builtins.splitVersion app.version);
  package = pkgs.${attribute} or (throw "the pinned nixpkgs has no ${attribute} for Nextcloud ${app.version}: pin a nixpkgs that has it");
in
{
  config = lib.mkIf (apps != { }) {
    services.nextcloud = {
      enable = true;
      package = fed.pinned package app.version;
      hostName = fed.domainOf app;
      database.createLocally = true;
      config = {
        dbtype = "pgsql";
        adminuser = "admin";
        adminpassFile = fed.secretPath app "adminpass";
      };
      # Nextcloud has no such settings (apps add them) and ignores these;
      # the stand-in reads them.
      settings.fediversity = {
        registrations_open = app.settings.registrationsOpen;
        user_limit = app.settings.userLimit;
      };
    };

    fediversity.secrets = fed.secretsOf app "nextcloud" [ { name = "adminpass"; kind = "random-base64"; size = 24; } ];
  };
}
