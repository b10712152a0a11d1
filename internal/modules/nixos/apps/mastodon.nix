# Mastodon, through NixOS's services.mastodon. Its secret key base and OTP
# secret are generated on the host: lost, they take encrypted columns and
# every user's two-factor setup with them, so a migration carries them.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "mastodon";
  app = fed.single "mastodon" apps;
  secret = fed.secretPath app;
  operator = fed.operatorOf app;
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
      otpSecretFile = secret "otp_secret";
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
      extraConfig = {
        FEDIVERSITY_REGISTRATIONS_OPEN = lib.boolToString app.settings.registrationsOpen;
        FEDIVERSITY_USER_LIMIT = toString app.settings.userLimit;
      };
    };

    fediversity.secrets = {
      ${secret "secret_key_base"} = { owner = "mastodon"; group = "mastodon"; kind = "random-base64"; size = 64; };
      ${secret "otp_secret"} = { owner = "mastodon"; group = "mastodon"; kind = "random-base64"; size = 64; };
    };
  };
}
