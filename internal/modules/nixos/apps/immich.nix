# Immich, through NixOS's services.immich, on PostgreSQL (over its unix
# socket: no database password, so no secretsFile). The module configures
# no web server; the virtual host here passes the domain to it.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "immich";
  app = fed.single "immich" apps;
  domain = fed.domainOf app;
  cfg = config.services.immich;
in
{
  config = lib.mkIf (apps != { }) {
    services.immich = {
      enable = true;
      package = fed.pinned pkgs.immich app.version;
      settings.server.externalDomain = "https://${domain}";
      # Immich has no open sign-ups or user limit (the admin invites);
      # the stand-in reads these and Immich ignores them.
      environment = fed.settingsEnv app;
    };

    services.nginx.virtualHosts.${domain} = {
      locations."/" = {
        proxyPass = "http://${cfg.host}:${toString cfg.port}";
        proxyWebsockets = true;
      };
      # Photos and videos come in whole.
      extraConfig = "client_max_body_size 50000M;";
    };
  };
}
