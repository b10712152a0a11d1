# services.pixelfed, with NixOS's option names (those the project's
# modules set). The stand-in serves the domain where the real module's
# phpfpm pool would, as the vhost that `nginx` (non-null) configures; its
# secrets are secretFile, the .env fragment with APP_KEY. Registrations
# and the user limit are Pixelfed's own .env settings (OPEN_REGISTRATION,
# PF_MAX_USERS, PF_ENFORCE_MAX_USERS), with Pixelfed's defaults.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkDefault mkOption types;
  cfg = config.services.pixelfed;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  setting = name: default: cfg.settings.${name} or default;
in
{
  options.services.pixelfed = {
    enable = lib.mkEnableOption "a Pixelfed instance";
    package = lib.mkPackageOption pkgs "pixelfed" { };
    user = mkOption { type = types.str; default = "pixelfed"; description = "User account under which pixelfed runs."; };
    group = mkOption { type = types.str; default = "pixelfed"; description = "Group account under which pixelfed runs."; };
    domain = mkOption { type = types.str; description = "FQDN for the Pixelfed instance."; };
    secretFile = mkOption { type = types.path; description = "A secret file to be sourced for the .env settings (APP_KEY)."; };
    settings = mkOption {
      type = types.attrsOf (types.oneOf [ types.bool types.int types.str ]);
      description = ".env settings for Pixelfed.";
    };
    nginx = mkOption {
      type = types.nullOr (types.submodule { });
      default = null;
      description = "A virtual host for the domain, customised with these settings (the stand-in takes none); null for no virtual host.";
    };
    database = {
      createLocally = mkOption { type = types.bool; default = true; description = "Create a local database using UNIX socket authentication."; };
      type = mkOption { type = types.enum [ "mysql" "pgsql" ]; default = "mysql"; description = "Database engine to use."; };
      name = mkOption { type = types.str; default = "pixelfed"; description = "Database name."; };
    };
    dataDir = mkOption { type = types.str; default = "/var/lib/pixelfed"; description = "State directory of the pixelfed user."; };
    runtimeDir = mkOption { type = types.str; default = "/run/pixelfed"; description = "Runtime directory of the pixelfed user."; };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [ {
        assertion = cfg.database.type == "pgsql";
        message = "services.pixelfed.database.type: the stand-in has PostgreSQL only; set it to \"pgsql\".";
      } ];
      services.pixelfed.settings = {
        OPEN_REGISTRATION = mkDefault false;
        APP_DOMAIN = mkDefault cfg.domain;
      };
    }
    (standinApp {
      kind = "pixelfed";
      unit = "phpfpm-pixelfed";
      inherit (cfg) package user group domain;
      listen = "unix:${cfg.runtimeDir}/pixelfed.sock";
      runtimeDirectory = lib.removePrefix "/run/" cfg.runtimeDir;
      stateDir = cfg.dataDir;
      # As the real module: the role exists but does not own the database.
      database = {
        host = "/run/postgresql";
        port = 5432;
        inherit (cfg.database) name;
        inherit (cfg) user;
        local = cfg.database.createLocally;
        createLocally = cfg.database.createLocally;
        ownedByUser = false;
      };
      secrets.APP_KEY = cfg.secretFile;
      settings = {
        registrations_open = setting "OPEN_REGISTRATION" false;
        user_limit = if setting "PF_ENFORCE_MAX_USERS" true then setting "PF_MAX_USERS" 1000 else 0;
      };
      configureNginx = cfg.nginx != null;
    })
  ]);
}
