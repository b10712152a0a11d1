# Pixelfed, through NixOS's services.pixelfed, on PostgreSQL. Its APP_KEY
# (Laravel's encryption key) is generated on the host as the .env fragment
# that secretFile names; its OAuth keys are made by the module in its data
# dir, which a migration carries. Without them federation breaks.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "pixelfed";
  app = fed.single "pixelfed" apps;
  limit = app.settings.userLimit;
in
{
  config = lib.mkIf (apps != { }) {
    services.pixelfed = {
      enable = true;
      package = fed.pinned pkgs.pixelfed app.version;
      domain = fed.domainOf app;
      secretFile = fed.secretPath app "app_key.env";
      nginx = { };
      database = {
        createLocally = true;
        type = "pgsql";
      };
      settings = {
        OPEN_REGISTRATION = app.settings.registrationsOpen;
        PF_ENFORCE_MAX_USERS = limit > 0;
      } // lib.optionalAttrs (limit > 0) { PF_MAX_USERS = limit; };
    };

    # On PostgreSQL the module makes Pixelfed's role but not the database's
    # owner, and Pixelfed could not create its tables.
    services.postgresql.ensureUsers = [ { name = "pixelfed"; ensureDBOwnership = true; } ];

    fediversity.secrets = fed.secretsOf app "pixelfed" [ { name = "app_key.env"; kind = "laravel-app-key"; } ];
  };
}
