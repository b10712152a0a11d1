# services.matrix-synapse, with NixOS's option names (those the project's
# modules set). The stand-in serves settings.server_name on the listener
# that carries the client resource (a unix socket `path` or TCP
# bind_addresses/port), signs with settings.signing_key_path, and takes
# sign-ups from settings.enable_registration and its user limit from the
# monthly-active-user cap (limit_usage_by_mau, max_mau_value). As the real
# module, it neither creates the database nor configures a web server.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.matrix-synapse;
  standinApp = import ../../../lib/standin-app.nix { inherit lib pkgs; };
  format = pkgs.formats.yaml { };

  resourceModule = {
    options = {
      names = mkOption {
        type = types.listOf (types.enum [ "client" "consent" "federation" "health" "keys" "media" "metrics" "openid" "replication" "static" ]);
        description = "List of resources to host on this listener.";
      };
      compress = mkOption { type = types.bool; default = false; description = "Whether synapse should compress HTTP responses."; };
    };
  };
  listenerModule = { config, ... }: {
    options = {
      port = mkOption { type = types.nullOr types.port; default = null; description = "The port to listen for HTTP(S) requests on."; };
      bind_addresses = mkOption {
        type = types.nullOr (types.listOf types.str);
        default = if config.path != null then null else [ "::1" "127.0.0.1" ];
        description = "IP addresses to bind the listener to.";
      };
      path = mkOption { type = types.nullOr types.path; default = null; description = "Unix domain socket path to bind this listener to."; };
      mode = mkOption {
        type = types.nullOr (types.strMatching "^[0,2-7]{3,4}$");
        default = if config.path != null then "660" else null;
        description = "File permissions on the UNIX domain socket.";
      };
      type = mkOption { type = types.enum [ "http" "manhole" "metrics" "replication" ]; default = "http"; description = "The type of the listener."; };
      tls = mkOption { type = types.nullOr types.bool; default = if config.path != null then null else true; description = "Whether to enable TLS on the listener socket."; };
      x_forwarded = mkOption { type = types.bool; default = config.path != null; description = "Use the X-Forwarded-For header as the client IP."; };
      resources = mkOption { type = types.listOf (types.submodule resourceModule); description = "List of HTTP resources to serve on this listener."; };
    };
  };

  clientListener = lib.findFirst (l: lib.any (r: builtins.elem "client" r.names) l.resources) null cfg.settings.listeners;
  listen =
    if clientListener.path != null then "unix:${clientListener.path}"
    else "${builtins.head (clientListener.bind_addresses ++ [ "127.0.0.1" ])}:${toString clientListener.port}";
  args = cfg.settings.database.args;
  hasLocalPostgresDB = cfg.settings.database.name == "psycopg2"
    && (!(args ? host) || builtins.elem args.host [ "localhost" "127.0.0.1" "::1" ])
    && config.services.postgresql.enable;
  mauCap = if cfg.settings.limit_usage_by_mau or false then cfg.settings.max_mau_value or 0 else 0;
in
{
  options.services.matrix-synapse = {
    enable = lib.mkEnableOption "matrix.org synapse, the reference homeserver";
    package = mkOption { type = types.package; readOnly = true; description = "The matrix-synapse wrapper the service runs (set by the module)."; };
    enableRegistrationScript = mkOption {
      type = types.bool;
      default = clientListener.bind_addresses != [ ];
      description = "Whether to install the register_new_matrix_user script.";
    };
    dataDir = mkOption { type = types.str; default = "/var/lib/matrix-synapse"; description = "The directory where matrix-synapse stores its stateful data."; };
    settings = mkOption {
      default = { };
      description = "The primary synapse configuration.";
      type = types.submodule {
        freeformType = format.type;
        options = {
          server_name = mkOption { type = types.str; default = config.networking.hostName; description = "The domain name of the server."; };
          enable_registration = mkOption { type = types.bool; default = false; description = "Enable registration for new users."; };
          signing_key_path = mkOption { type = types.path; default = "${cfg.dataDir}/homeserver.signing.key"; description = "Path to the signing key to sign messages with."; };
          media_store_path = mkOption { type = types.path; default = "${cfg.dataDir}/media_store"; description = "Directory where uploaded images and attachments are stored."; };
          public_baseurl = mkOption { type = types.nullOr types.str; default = null; description = "The public-facing base URL for the client API."; };
          listeners = mkOption {
            type = types.listOf (types.submodule listenerModule);
            default = [ {
              port = 8008;
              bind_addresses = [ "127.0.0.1" ];
              type = "http";
              tls = false;
              x_forwarded = true;
              resources = [
                { names = [ "client" ]; compress = true; }
                { names = [ "federation" ]; compress = false; }
              ];
            } ];
            description = "List of ports that Synapse should listen on, their purpose and their configuration.";
          };
          database.name = mkOption { type = types.enum [ "sqlite3" "psycopg2" ]; default = "psycopg2"; description = "The database engine name."; };
          database.args.database = mkOption {
            type = types.str;
            default = { sqlite3 = "${cfg.dataDir}/homeserver.db"; psycopg2 = "matrix-synapse"; }.${cfg.settings.database.name};
            description = "Name of the database when using the psycopg2 backend.";
          };
          database.args.user = mkOption {
            type = types.nullOr types.str;
            default = { sqlite3 = null; psycopg2 = "matrix-synapse"; }.${cfg.settings.database.name};
            description = "Username to connect with psycopg2.";
          };
        };
      };
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      services.matrix-synapse.package = pkgs.matrix-synapse.override { };
      assertions = [
        {
          assertion = clientListener != null;
          message = "At least one listener which serves the `client` resource via HTTP is required by synapse in `services.matrix-synapse.settings.listeners`.";
        }
        {
          assertion = cfg.enableRegistrationScript -> clientListener.path == null;
          message = "The client listener on matrix-synapse is configured to use UNIX domain sockets. Disable `services.matrix-synapse.enableRegistrationScript` to continue.";
        }
        {
          assertion = cfg.settings.database.name == "psycopg2";
          message = "services.matrix-synapse.settings.database.name: the stand-in has PostgreSQL only; use \"psycopg2\".";
        }
      ];
    }
    (standinApp {
      kind = "matrix";
      unit = "matrix-synapse";
      inherit (cfg) package;
      domain = cfg.settings.server_name;
      user = "matrix-synapse";
      inherit listen;
      runtimeDirectory = "matrix-synapse";
      stateDir = cfg.dataDir;
      database = {
        host = args.host or "/run/postgresql";
        port = args.port or 5432;
        name = args.database;
        inherit (args) user;
        local = hasLocalPostgresDB;
        createLocally = false;
      };
      secrets.signing_key = cfg.settings.signing_key_path;
      settings = {
        registrations_open = cfg.settings.enable_registration;
        user_limit = mauCap;
      };
    })
  ]);
}
