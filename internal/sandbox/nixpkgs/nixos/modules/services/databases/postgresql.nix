# services.postgresql, with NixOS's option names. The server is Debian's
# PostgreSQL (pkgs.postgresql), run as user postgres by the supervisor;
# clients reach it on the Unix socket in /run/postgresql with peer
# authentication. As in recent NixOS, a `postgresql-setup` oneshot
# creates the ensured databases and users, idempotently.
#
# Unlike NixOS, the server listens on no TCP address unless enableTCPIP is
# set: sandbox hosts share the machine's network, so two of them would
# otherwise fight over localhost:5432.
{ config, lib, pkgs, ... }:
let
  inherit (lib) concatMapStrings escapeShellArg mkAfter mkBefore mkDefault mkIf mkMerge mkOption optionalString types;
  cfg = config.services.postgresql;

  # SQL quoting: identifiers in "", literals in ''.
  sqlIdent = s: ''"${builtins.replaceStrings [ ''"'' ] [ ''""'' ] s}"'';
  sqlLiteral = s: "'${builtins.replaceStrings [ "'" ] [ "''" ] s}'";
  psql = sql: "psql -v ON_ERROR_STOP=1 -d postgres -tAc ${escapeShellArg sql}";

  settingValue = v:
    if builtins.isBool v then (if v then "on" else "off")
    else if builtins.isString v then sqlLiteral v
    else toString v;
  configFile = pkgs.writeTextDir "postgresql.conf"
    (lib.concatStrings (lib.mapAttrsToList (k: v: "${k} = ${settingValue v}\n") cfg.settings));

  ensureDatabase = db: ''
    if ! ${psql "SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral db}"} | grep -q 1; then
      ${psql "CREATE DATABASE ${sqlIdent db}"}
    fi
  '';
  clauseSQL = name: value: if value then lib.toUpper name else "NO" + lib.toUpper name;
  ensureUser = user:
    let
      clauses = lib.mapAttrsToList clauseSQL (lib.filterAttrs (_: v: v != null) user.ensureClauses);
    in
    ''
      if ! ${psql "SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral user.name}"} | grep -q 1; then
        ${psql "CREATE ROLE ${sqlIdent user.name} WITH LOGIN"}
      fi
    '' + optionalString (clauses != [ ]) ''
      ${psql "ALTER ROLE ${sqlIdent user.name} ${lib.concatStringsSep " " clauses}"}
    '' + optionalString user.ensureDBOwnership ''
      ${psql "ALTER DATABASE ${sqlIdent user.name} OWNER TO ${sqlIdent user.name}"}
    '' + concatMapStrings (object: ''
      ${psql "GRANT ${user.ensurePermissions.${object}} ON ${object} TO ${sqlIdent user.name}"}
    '') (builtins.attrNames user.ensurePermissions);

  clauseOption = mkOption { type = types.nullOr types.bool; default = null; description = "Grant (true) or revoke (false) this role attribute; null leaves it."; };
  userModule = {
    options = {
      name = mkOption { type = types.str; description = "The role's name."; };
      ensureDBOwnership = mkOption {
        type = types.bool;
        default = false;
        description = "Make the role own the database of the same name (which must be in ensureDatabases).";
      };
      ensureClauses = {
        superuser = clauseOption;
        createrole = clauseOption;
        createdb = clauseOption;
        "inherit" = clauseOption;
        login = clauseOption;
        replication = clauseOption;
        bypassrls = clauseOption;
      };
      ensurePermissions = mkOption {
        type = types.attrsOf types.str;
        default = { };
        description = "Deprecated in NixOS: GRANT <value> ON <name> for each entry.";
      };
    };
  };
in
{
  options.services.postgresql = {
    enable = lib.mkEnableOption "PostgreSQL Server";
    package = lib.mkPackageOption pkgs "postgresql" { };
    dataDir = mkOption {
      type = types.path;
      default = "/var/lib/postgresql/${cfg.package.psqlSchema}";
      description = "The data directory.";
    };
    port = mkOption { type = types.port; default = 5432; description = "The port (also names the socket file)."; };
    enableTCPIP = mkOption { type = types.bool; default = false; description = "Whether to listen on all TCP addresses."; };
    superUser = mkOption { type = types.str; default = "postgres"; readOnly = true; description = "The superuser role."; };
    initdbArgs = mkOption { type = types.listOf types.str; default = [ ]; description = "Extra initdb arguments."; };
    initialScript = mkOption { type = types.nullOr types.path; default = null; description = "SQL run once, when the data directory is created."; };
    ensureDatabases = mkOption { type = types.listOf types.str; default = [ ]; description = "Databases that must exist."; };
    ensureUsers = mkOption {
      type = types.listOf (types.submodule userModule);
      default = [ ];
      description = "Roles that must exist, with their attributes.";
    };
    authentication = mkOption { type = types.lines; default = ""; description = "Lines of pg_hba.conf, before the defaults."; };
    identMap = mkOption { type = types.lines; default = ""; description = "Lines of pg_ident.conf."; };
    settings = mkOption {
      type = types.attrsOf (types.oneOf [ types.bool types.float types.int types.str ]);
      default = { };
      description = "postgresql.conf settings.";
    };
  };

  config = mkIf cfg.enable {
    assertions = map (user: {
      assertion = user.ensureDBOwnership -> builtins.elem user.name cfg.ensureDatabases;
      message = "services.postgresql.ensureUsers.${user.name}.ensureDBOwnership requires a database of the same name in services.postgresql.ensureDatabases.";
    }) cfg.ensureUsers;

    # As in NixOS: the defaults come after what modules add.
    services.postgresql.authentication = mkMerge [
      (mkBefore "# Generated file; do not edit!")
      (mkAfter ''
        # default value of services.postgresql.authentication
        local all postgres         peer
        local all all              peer
        host  all all 127.0.0.1/32 md5
        host  all all ::1/128      md5
      '')
    ];
    services.postgresql.settings = {
      hba_file = mkDefault "${pkgs.writeText "pg_hba.conf" cfg.authentication}";
      ident_file = mkDefault "${pkgs.writeText "pg_ident.conf" cfg.identMap}";
      log_destination = mkDefault "stderr";
      listen_addresses = mkDefault (if cfg.enableTCPIP then "*" else "");
      unix_socket_directories = mkDefault "/run/postgresql";
      port = mkDefault cfg.port;
    };

    users.users.postgres = {
      name = "postgres";
      group = "postgres";
      isSystemUser = true;
      description = "PostgreSQL server user";
      home = mkDefault cfg.dataDir;
      useDefaultShell = true;
    };
    users.groups.postgres = { };
    environment.systemPackages = [ cfg.package ];
    systemd.tmpfiles.rules = [ "d '${cfg.dataDir}' 0700 postgres postgres - -" ];

    systemd.services.postgresql = {
      description = "PostgreSQL Server";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      environment.PGDATA = cfg.dataDir;
      path = [ cfg.package ];
      preStart = ''
        if ! test -e ${escapeShellArg cfg.dataDir}/PG_VERSION; then
          rm -f ${escapeShellArg cfg.dataDir}/*.conf
          initdb -U ${escapeShellArg cfg.superUser} ${lib.escapeShellArgs cfg.initdbArgs}
          touch ${escapeShellArg cfg.dataDir}/.first_startup
        fi
        ln -sfn ${configFile}/postgresql.conf ${escapeShellArg cfg.dataDir}/postgresql.conf
      '';
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/postgres";
        User = "postgres";
        Group = "postgres";
        RuntimeDirectory = "postgresql";
        # SIGINT is PostgreSQL's fast shutdown.
        KillSignal = "SIGINT";
        TimeoutSec = 120;
      };
    };

    systemd.services.postgresql-setup = {
      description = "PostgreSQL Setup Scripts";
      wantedBy = [ "multi-user.target" ];
      requires = [ "postgresql.service" ];
      after = [ "postgresql.service" ];
      path = [ cfg.package ];
      environment = {
        PGHOST = "/run/postgresql";
        PGPORT = toString cfg.port;
      };
      # The supervisor has no readiness notification: wait for the server.
      script = ''
        for _ in $(seq 1 600); do
          if pg_isready -q; then break; fi
          sleep 0.1
        done
        pg_isready
        if test -e ${escapeShellArg cfg.dataDir}/.first_startup; then
          ${optionalString (cfg.initialScript != null) "psql -v ON_ERROR_STOP=1 -d postgres -f ${cfg.initialScript}"}
          rm -f ${escapeShellArg cfg.dataDir}/.first_startup
        fi
        ${concatMapStrings ensureDatabase cfg.ensureDatabases}
        ${concatMapStrings ensureUser cfg.ensureUsers}
      '';
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        User = "postgres";
        Group = "postgres";
      };
    };
  };
}
