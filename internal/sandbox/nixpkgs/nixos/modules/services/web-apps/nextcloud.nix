# services.nextcloud, with NixOS's option names (those the project's
# modules set). As the real module, it always configures the virtual host
# hostName; the stand-in serves it where the phpfpm pool would. Its secret
# is config.adminpassFile. Nextcloud has no setting for open sign-ups or a
# user limit (apps add them), so the project's modules pass theirs as the
# free-form settings.fediversity, which Nextcloud ignores and the stand-in
# reads.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.nextcloud;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  jsonFormat = pkgs.formats.json { };
  pgsqlLocal = cfg.database.createLocally && cfg.config.dbtype == "pgsql";
  ours = cfg.settings.fediversity or { };
in
{
  options.services.nextcloud = {
    enable = lib.mkEnableOption "nextcloud";
    package = mkOption { type = types.package; description = "Which package to use for the Nextcloud instance."; };
    hostName = mkOption { type = types.str; description = "FQDN for the nextcloud instance."; };
    home = mkOption { type = types.str; default = "/var/lib/nextcloud"; description = "Storage path of nextcloud."; };
    https = mkOption { type = types.bool; default = false; description = "Use HTTPS for generated links."; };
    database.createLocally = mkOption { type = types.bool; default = false; description = "Whether to create the database and database user locally."; };
    config = {
      dbtype = mkOption { type = types.enum [ "sqlite" "pgsql" "mysql" ]; description = "Database type."; };
      dbname = mkOption { type = types.nullOr types.str; default = "nextcloud"; description = "Database name."; };
      dbuser = mkOption { type = types.nullOr types.str; default = "nextcloud"; description = "Database user."; };
      dbhost = mkOption {
        type = types.nullOr types.str;
        default = if pgsqlLocal then "/run/postgresql" else "localhost";
        description = "Database host (+port) or socket path.";
      };
      adminuser = mkOption { type = types.str; default = "root"; description = "Username for the admin account."; };
      adminpassFile = mkOption { type = types.str; description = "The full path to a file that contains the admin's password."; };
    };
    settings = mkOption {
      type = types.submodule {
        freeformType = jsonFormat.type;
        options.trusted_domains = mkOption { type = types.listOf types.str; default = [ ]; description = "Trusted domains."; };
      };
      default = { };
      description = "Extra options which should be appended to Nextcloud's config.php file.";
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [ {
        assertion = cfg.config.dbtype == "pgsql";
        message = "services.nextcloud.config.dbtype: the stand-in has PostgreSQL only; set it to \"pgsql\".";
      } ];
    }
    (standinApp {
      kind = "nextcloud";
      unit = "phpfpm-nextcloud";
      inherit (cfg) package;
      domain = cfg.hostName;
      user = "nextcloud";
      listen = "unix:/run/phpfpm-nextcloud/nextcloud.sock";
      runtimeDirectory = "phpfpm-nextcloud";
      stateDir = cfg.home;
      database = {
        host = cfg.config.dbhost;
        port = 5432;
        name = cfg.config.dbname;
        user = cfg.config.dbuser;
        local = pgsqlLocal;
        createLocally = pgsqlLocal;
        ownedByUser = true;
      };
      secrets.adminpass = cfg.config.adminpassFile;
      settings = {
        registrations_open = ours.registrations_open or false;
        user_limit = ours.user_limit or 0;
      };
      configureNginx = true;
    })
  ]);
}
