# What every stand-in application module (services.mastodon,
# services.matrix-synapse, ...) does: run the stand-in program's app role
# for one kind, as the service the real module would run and configured
# from the real module's options; create its database when the real module
# would; and, as the real modules' configureNginx does, give its domain a
# virtual host that passes requests on to it.
#
#   config = lib.mkIf cfg.enable (standinApp { kind = "mastodon"; ... });
{ lib, pkgs }:
{ kind # the catalogue's kind
, unit # the service, named as the real module's main one
, package # its version is the app's
, domain
, user
, group ? user
, listen # "unix:/run/<dir>/<socket>" or "host:port"
, runtimeDirectory ? null # the socket's directory under /run
, stateDir
  # { host, port, name, user }; local: the server is this system's
  # PostgreSQL; createLocally: the real module creates the database and a
  # role of the same name (ownedByUser: that owns it).
, database
, secrets ? { } # secret name -> the file a real option names
, settings ? { } # registrations_open, user_limit
, configureNginx ? false
}:
let
  inherit (lib) mkIf mkMerge optionalAttrs optionals;
  onVarLib = lib.hasPrefix "/var/lib/" stateDir;
  configFile = pkgs.writeText "${unit}-standin.json" (builtins.toJSON {
    inherit kind domain listen secrets settings;
    inherit (package) version;
    database = { inherit (database) host port name user; };
    state_dir = stateDir;
  });
  databaseUnits = optionals database.local [ "postgresql.service" "postgresql-setup.service" ];
in
mkMerge [
  {
    users.users.${user} = {
      isSystemUser = true;
      inherit group;
    };
    users.groups.${group} = { };

    systemd.services.${unit} = {
      description = "${kind}, stood in by fediversity-standin";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ] ++ databaseUnits;
      requires = databaseUnits;
      serviceConfig = {
        ExecStart = "${lib.getExe package} app --config ${configFile}";
        User = user;
        Group = group;
        WorkingDirectory = stateDir;
        Restart = "on-failure";
      } // optionalAttrs onVarLib {
        StateDirectory = lib.removePrefix "/var/lib/" stateDir;
        StateDirectoryMode = "0750";
      } // optionalAttrs (runtimeDirectory != null) {
        RuntimeDirectory = runtimeDirectory;
      };
    };
    systemd.tmpfiles.rules = lib.optional (!onVarLib) "d '${stateDir}' 0750 ${user} ${group} - -";
  }
  (mkIf database.createLocally {
    services.postgresql = {
      enable = true;
      ensureDatabases = [ database.name ];
      ensureUsers = [ { name = database.user; ensureDBOwnership = database.ownedByUser; } ];
    };
  })
  (mkIf configureNginx {
    services.nginx = {
      enable = true;
      # nginx's own spelling: http://unix:/run/app.sock or http://host:port.
      virtualHosts.${domain}.locations."/".proxyPass = "http://${listen}";
    };
  })
]
