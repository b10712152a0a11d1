# Mastodon, through NixOS's services.mastodon. Its secret key base and
# Active Record encryption keys are generated on the host: lost, they take
# sessions and encrypted columns with them, so a migration carries them.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "mastodon";
  app = fed.single "mastodon" apps;
  secret = fed.secretPath app;
  operator = fed.operatorOf app;
  secretNames = [
    "secret_key_base"
    "active_record_encryption_deterministic_key"
    "active_record_encryption_key_derivation_salt"
    "active_record_encryption_primary_key"
  ];
in
{
  config = lib.mkIf (apps != { }) {
    services.mastodon = {
      enable = true;
      package = fed.pinned pkgs.mastodon app.version;
      localDomain = fed.domainOf app;
      configureNginx = true;
      streamingProcesses = 1;
      secretKeyBaseFile = secret "secret_key_base";
      activeRecordEncryptionDeterministicKeyFile = secret "active_record_encryption_deterministic_key";
      activeRecordEncryptionKeyDerivationSaltFile = secret "active_record_encryption_key_derivation_salt";
      activeRecordEncryptionPrimaryKeyFile = secret "active_record_encryption_primary_key";
      database.createLocally = true;
      redis.createLocally = true;
      smtp = {
        createLocally = false;
        host = "localhost";
        port = 25;
        authenticate = false;
        fromAddress = "notifications@${operator.domain}";
      };
      # Mastodon keeps these in its database; the stand-in reads them here
      # and a real host ignores them (see the README).
      extraConfig = fed.settingsEnv app;
    };

    fediversity.secrets = fed.secretsOf app "mastodon" (map (name: { inherit name; kind = "random-base64"; size = 64; }) secretNames);
  };
}
