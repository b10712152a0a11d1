# services.mastodon, with NixOS's option names (those the project's
# modules set). The stand-in runs one service, mastodon-web, on the socket
# the real one uses; streaming, sidekiq and Redis are not stood in (home
# feeds live in Redis and are rebuilt after a move anyway). Mastodon keeps
# registrations and user limits in its database; the project's modules
# pass them in extraConfig as FEDIVERSITY_*, which the stand-in reads.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.mastodon;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  secretOption = name: mkOption {
    type = types.str;
    default = "/var/lib/mastodon/secrets/${name}";
    description = "Path to the file holding the ${name}.";
  };
  env = name: default: cfg.extraConfig.${name} or default;
in
{
  options.services.mastodon = {
    enable = lib.mkEnableOption "Mastodon, a federated social network server";
    package = lib.mkPackageOption pkgs "mastodon" { };
    user = mkOption { type = types.str; default = "mastodon"; description = "User under which mastodon runs."; };
    group = mkOption { type = types.str; default = "mastodon"; description = "Group under which mastodon runs."; };
    localDomain = mkOption { type = types.str; description = "The domain serving your Mastodon instance."; };
    configureNginx = mkOption { type = types.bool; default = false; description = "Configure nginx as a reverse proxy for mastodon."; };
    streamingProcesses = mkOption { type = types.ints.positive; description = "Number of processes used by the mastodon-streaming service."; };
    secretKeyBaseFile = secretOption "secret-key-base";
    activeRecordEncryptionDeterministicKeyFile = secretOption "active-record-encryption-deterministic-key";
    activeRecordEncryptionKeyDerivationSaltFile = secretOption "active-record-encryption-key-derivation-salt";
    activeRecordEncryptionPrimaryKeyFile = secretOption "active-record-encryption-primary-key";
    database = {
      createLocally = mkOption { type = types.bool; default = true; description = "Configure local PostgreSQL database server for Mastodon."; };
      host = mkOption { type = types.str; default = "/run/postgresql"; description = "Database host address or unix socket."; };
      name = mkOption { type = types.str; default = "mastodon"; description = "Database name."; };
      user = mkOption { type = types.str; default = "mastodon"; description = "Database user."; };
    };
    redis.createLocally = mkOption { type = types.bool; default = true; description = "Configure local Redis server for Mastodon (not stood in)."; };
    smtp = {
      createLocally = mkOption { type = types.bool; default = true; description = "Configure local Postfix SMTP server for Mastodon."; };
      authenticate = mkOption { type = types.bool; default = false; description = "Authenticate with the SMTP server."; };
      host = mkOption { type = types.str; default = "127.0.0.1"; description = "SMTP host used when sending emails to users."; };
      port = mkOption { type = types.port; default = 25; description = "SMTP port used when sending emails to users."; };
      fromAddress = mkOption { type = types.str; description = "\"From\" address used when sending Emails to users."; };
    };
    extraConfig = mkOption { type = types.attrs; default = { }; description = "Extra environment variables to pass to all mastodon services."; };
  };

  config = lib.mkIf cfg.enable (standinApp {
    kind = "mastodon";
    unit = "mastodon-web";
    inherit (cfg) package user group configureNginx;
    domain = cfg.localDomain;
    listen = "unix:/run/mastodon-web/web.socket";
    runtimeDirectory = "mastodon-web";
    stateDir = "/var/lib/mastodon";
    database =
      let local = cfg.database.createLocally && cfg.database.host == "/run/postgresql"; in
      cfg.database // { port = 5432; inherit local; createLocally = local; ownedByUser = true; };
    secrets = {
      SECRET_KEY_BASE = cfg.secretKeyBaseFile;
      ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY = cfg.activeRecordEncryptionDeterministicKeyFile;
      ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT = cfg.activeRecordEncryptionKeyDerivationSaltFile;
      ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY = cfg.activeRecordEncryptionPrimaryKeyFile;
    };
    settings = {
      registrations_open = env "FEDIVERSITY_REGISTRATIONS_OPEN" "false" == "true";
      user_limit = lib.toInt (env "FEDIVERSITY_USER_LIMIT" "0");
    };
  });
}
