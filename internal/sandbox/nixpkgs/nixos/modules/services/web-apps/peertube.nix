# services.peertube, with NixOS's option names (those the project's
# modules set). The stand-in listens where the real one does
# (127.0.0.1:listenHttp; on a sandbox host that is the host's own address)
# and, with configureNginx, is proxied as the real module proxies it. Its
# secret is secrets.secretsFile; sign-ups follow settings.signup.enabled
# and settings.signup.limit (-1: no limit), PeerTube's own settings.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.peertube;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  signup = cfg.settings.signup or { };
  limit = signup.limit or (-1);
in
{
  options.services.peertube = {
    enable = lib.mkEnableOption "Peertube";
    package = lib.mkPackageOption pkgs "peertube" { };
    user = mkOption { type = types.str; default = "peertube"; description = "User account under which Peertube runs."; };
    group = mkOption { type = types.str; default = "peertube"; description = "Group under which Peertube runs."; };
    localDomain = mkOption { type = types.str; description = "The domain serving your PeerTube instance."; };
    listenHttp = mkOption { type = types.port; default = 9000; description = "The port that the local PeerTube web server will listen on."; };
    listenWeb = mkOption { type = types.port; default = 9000; description = "The public-facing port that PeerTube will be accessible at."; };
    enableWebHttps = mkOption { type = types.bool; default = false; description = "Whether clients will access your PeerTube instance with HTTPS."; };
    configureNginx = mkOption { type = types.bool; default = false; description = "Configure nginx as a reverse proxy for peertube."; };
    settings = mkOption { type = (pkgs.formats.json { }).type; default = { }; description = "Configuration for peertube."; };
    secrets.secretsFile = mkOption { type = types.nullOr types.path; default = null; description = "Secrets to run PeerTube."; };
    database = {
      createLocally = mkOption { type = types.bool; default = false; description = "Configure local PostgreSQL database server for PeerTube."; };
      host = mkOption { type = types.str; default = if cfg.database.createLocally then "/run/postgresql" else null; description = "Database host address or unix socket."; };
      port = mkOption { type = types.port; default = 5432; description = "Database host port."; };
      name = mkOption { type = types.str; default = "peertube"; description = "Database name."; };
      user = mkOption { type = types.str; default = "peertube"; description = "Database user."; };
    };
    redis.createLocally = mkOption { type = types.bool; default = false; description = "Configure local Redis server for PeerTube (not stood in)."; };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [ {
        assertion = cfg.secrets.secretsFile != null;
        message = "<option>services.peertube.secrets.secretsFile</option> needs to be set.";
      } ];
    }
    (standinApp {
      kind = "peertube";
      unit = "peertube";
      inherit (cfg) package user group configureNginx;
      domain = cfg.localDomain;
      listen = "127.0.0.1:${toString cfg.listenHttp}";
      stateDir = "/var/lib/peertube";
      database = cfg.database // { local = cfg.database.createLocally; ownedByUser = true; };
      secrets.PEERTUBE_SECRET = cfg.secrets.secretsFile;
      settings = {
        registrations_open = signup.enabled or false;
        user_limit = if limit < 0 then 0 else limit;
      };
    })
  ]);
}
