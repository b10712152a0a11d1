# services.immich, with NixOS's option names (those the project's modules
# set). The stand-in serves the domain of settings.server.externalDomain
# and listens where the real one does (host:port; on a sandbox host
# "localhost" is the host's own address). The real module configures no
# web server: whoever enables it adds the virtual host. Immich creates
# accounts by invitation and has no user limit; the project's modules pass
# their settings in environment as FEDIVERSITY_*, which Immich ignores and
# the stand-in reads. secretsFile, when set, is the stand-in's one secret.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.immich;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  env = name: default: cfg.environment.${name} or default;
  externalDomain = if cfg.settings == null then "" else cfg.settings.server.externalDomain;
  domain = lib.removePrefix "http://" (lib.removePrefix "https://" externalDomain);
in
{
  options.services.immich = {
    enable = lib.mkEnableOption "Immich";
    package = lib.mkPackageOption pkgs "immich" { };
    mediaLocation = mkOption { type = types.path; default = "/var/lib/immich"; description = "Directory used to store media files."; };
    environment = mkOption {
      type = types.submodule { freeformType = types.attrsOf types.str; };
      default = { };
      description = "Extra configuration environment variables.";
    };
    settings = mkOption {
      type = types.nullOr (types.submodule {
        freeformType = (pkgs.formats.json { }).type;
        options = {
          newVersionCheck.enabled = mkOption { type = types.bool; default = false; description = "Check for new versions."; };
          server.externalDomain = mkOption { type = types.str; default = ""; description = "Domain for publicly shared links, including `http(s)://`."; };
        };
      });
      default = null;
      description = "Configuration for Immich; null lets the web interface configure it.";
    };
    secretsFile = mkOption { type = types.nullOr types.str; default = null; description = "Path of a file with extra environment variables to be loaded from disk."; };
    host = mkOption { type = types.str; default = "localhost"; description = "The host that immich will listen on."; };
    port = mkOption { type = types.port; default = 2283; description = "The port that immich will listen on."; };
    user = mkOption { type = types.str; default = "immich"; description = "The user immich should run as."; };
    group = mkOption { type = types.str; default = "immich"; description = "The group immich should run as."; };
    database = {
      enable = mkOption { type = types.bool; default = true; description = "Whether to enable the postgresql database for use with immich."; };
      createDB = mkOption { type = types.bool; default = true; description = "Whether to enable the automatic creation of the database for immich."; };
      name = mkOption { type = types.str; default = "immich"; description = "The name of the immich database."; };
      host = mkOption { type = types.str; default = "/run/postgresql"; description = "Hostname or address of the postgresql server."; };
      port = mkOption { type = types.port; default = 5432; description = "Port of the postgresql server."; };
      user = mkOption { type = types.str; default = "immich"; description = "The database user for immich."; };
    };
    redis.enable = mkOption { type = types.bool; default = true; description = "Whether to enable a redis cache for use with immich (not stood in)."; };
    machine-learning.enable = mkOption { type = types.bool; default = true; description = "Whether to enable immich's machine-learning functionality (not stood in)."; };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [ {
        assertion = domain != "";
        message = "services.immich.settings.server.externalDomain: the stand-in serves the domain named there; set it.";
      } ];
    }
    (standinApp {
      kind = "immich";
      unit = "immich-server";
      inherit (cfg) package user group;
      inherit domain;
      listen = "${cfg.host}:${toString cfg.port}";
      runtimeDirectory = "immich";
      stateDir = cfg.mediaLocation;
      database = cfg.database // {
        local = cfg.database.enable;
        createLocally = cfg.database.enable && cfg.database.createDB;
        ownedByUser = true;
      };
      secrets = lib.optionalAttrs (cfg.secretsFile != null) { inherit (cfg) secretsFile; };
      settings = {
        registrations_open = env "FEDIVERSITY_REGISTRATIONS_OPEN" "false" == "true";
        user_limit = lib.toInt (env "FEDIVERSITY_USER_LIMIT" "0");
      };
    })
  ]);
}
