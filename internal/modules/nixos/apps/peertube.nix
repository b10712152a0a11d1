# PeerTube, through NixOS's services.peertube, proxied by nginx on port 80.
# Its secret is generated on the host. PeerTube stores object-storage URLs
# in its database: a move to other storage rewrites them (migration rule).
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "peertube";
  app = fed.single "peertube" apps;
  limit = app.settings.userLimit;
in
{
  config = lib.mkIf (apps != { }) {
    services.peertube = {
      enable = true;
      package = fed.pinned pkgs.peertube app.version;
      localDomain = fed.domainOf app;
      listenWeb = 80;
      enableWebHttps = false;
      configureNginx = true;
      database.createLocally = true;
      redis.createLocally = true;
      secrets.secretsFile = fed.secretPath app "secret";
      settings.signup = {
        enabled = app.settings.registrationsOpen;
        limit = if limit > 0 then limit else -1; # -1: no limit
      };
    };

    fediversity.secrets = fed.secretsOf app "peertube" [ { name = "secret"; kind = "random-base64"; size = 32; } ];
  };
}
