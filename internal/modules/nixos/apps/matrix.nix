# Matrix, through NixOS's services.matrix-synapse, on PostgreSQL, behind
# nginx on a unix socket. Its signing key is generated on the host: other
# servers know it, so a migration carries it. Synapse wants its database
# with the C locale, which neither its module nor ensureDatabases makes,
# so a oneshot here creates it.
{ config, lib, pkgs, ... }:
let
  fed = import ../lib.nix { inherit lib config; };
  apps = fed.ofKind "matrix";
  app = fed.single "matrix" apps;
  domain = fed.domainOf app;
  limit = app.settings.userLimit;
  socket = "/run/matrix-synapse/matrix-synapse.sock";
  createDatabase = pkgs.writeText "matrix-synapse-database.sql" (
    "SELECT 'CREATE DATABASE \"matrix-synapse\" OWNER \"matrix-synapse\" TEMPLATE template0"
    + " ENCODING ''UTF8'' LC_COLLATE ''C'' LC_CTYPE ''C'''"
    + " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'matrix-synapse')\\gexec\n"
  );
in
{
  config = lib.mkIf (apps != { }) {
    # The module runs a wrapper of this package, pinned as nixpkgs advises.
    nixpkgs.overlays = [
      (final: prev: { matrix-synapse-unwrapped = fed.pinned prev.matrix-synapse-unwrapped app.version; })
    ];

    services.matrix-synapse = {
      enable = true;
      enableRegistrationScript = false; # it cannot reach a unix socket
      settings = {
        server_name = domain;
        enable_registration = app.settings.registrationsOpen;
        # Operators opening sign-ups choose this; Synapse refuses to start
        # with open registration unless told so.
        enable_registration_without_verification = app.settings.registrationsOpen;
        signing_key_path = fed.secretPath app "signing.key";
        listeners = [ {
          path = socket;
          resources = [ { names = [ "client" "federation" ]; compress = false; } ];
        } ];
      } // lib.optionalAttrs (limit > 0) {
        limit_usage_by_mau = true;
        max_mau_value = limit;
      };
    };

    services.postgresql = {
      enable = true;
      ensureUsers = [ { name = "matrix-synapse"; } ];
    };
    systemd.services.matrix-synapse-database = {
      description = "Create Synapse's database with the C locale";
      # Kept stopped with Synapse: it would start the database server,
      # which a runtime of stopped applications does not run.
      wantedBy = lib.optional (app.stopped == [ ]) "multi-user.target";
      requires = [ "postgresql.service" ];
      after = [ "postgresql.service" "postgresql-setup.service" ];
      environment.PGHOST = "/run/postgresql";
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        Group = "postgres";
        ExecStart = "${config.services.postgresql.package}/bin/psql -d postgres -v ON_ERROR_STOP=1 -f ${createDatabase}";
      };
    };
    systemd.services.matrix-synapse = {
      requires = [ "matrix-synapse-database.service" ];
      after = [ "matrix-synapse-database.service" ];
    };

    services.nginx.virtualHosts.${domain}.locations."/".proxyPass = "http://unix:${socket}";
    # The socket is the group's (mode 660).
    users.users.${config.services.nginx.user}.extraGroups = [ "matrix-synapse" ];

    fediversity.secrets = fed.secretsOf app "matrix-synapse" [ { name = "signing.key"; kind = "synapse-signing-key"; } ];
  };
}
