# services.maddy, with NixOS's option names (those the project's modules
# set): the mail server of a system's operators, stood in by the program's
# mail role. As maddy's default configuration, it takes mail for
# localDomains on port 25 and signs each domain's with the key at maddy's
# conventional path, /var/lib/maddy/dkim_keys/<domain>_default.key (where
# maddy would generate a missing key, the stand-in refuses to start). It
# keeps mail as Maildirs and, in place of IMAP, shows them over HTTP at
# mail.<domain>, through nginx when that is enabled.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.maddy;
  stateDir = "/var/lib/maddy";
  socket = "/run/maddy/http.sock";
  domains = lib.unique (map (d: if d == "$(primary_domain)" then cfg.primaryDomain else d) cfg.localDomains);
  configFile = pkgs.writeText "maddy-standin.json" (builtins.toJSON {
    inherit (cfg) hostname;
    inherit (cfg.package) version;
    http_listen = "unix:${socket}";
    maildir = "${stateDir}/maildir";
    domains = map (domain: { inherit domain; dkim_private_key_file = "${stateDir}/dkim_keys/${domain}_default.key"; }) domains;
  });
in
{
  options.services.maddy = {
    enable = lib.mkEnableOption "Maddy, a free an open source mail server";
    package = lib.mkPackageOption pkgs "maddy" { };
    user = mkOption { type = types.str; default = "maddy"; description = "User account under which maddy runs."; };
    group = mkOption { type = types.str; default = "maddy"; description = "Group account under which maddy runs."; };
    hostname = mkOption { type = types.str; default = "localhost"; description = "Hostname to use. It should be FQDN."; };
    primaryDomain = mkOption { type = types.str; default = "localhost"; description = "Primary MX domain to use. It should be FQDN."; };
    localDomains = mkOption { type = types.listOf types.str; default = [ "$(primary_domain)" ]; description = "Define list of allowed domains."; };
    openFirewall = mkOption { type = types.bool; default = false; description = "Open the configured incoming and outgoing mail server ports."; };
  };

  config = lib.mkIf cfg.enable {
    users.users = lib.optionalAttrs (cfg.user == "maddy") {
      maddy = {
        isSystemUser = true;
        inherit (cfg) group;
        description = "Maddy mail transfer agent user";
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "maddy") { maddy = { }; };

    systemd.services.maddy = {
      description = "maddy mail server, stood in by fediversity-standin";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      serviceConfig = {
        # As root: maddy binds port 25 with CAP_NET_BIND_SERVICE, which the
        # stand-in supervisor cannot grant.
        ExecStart = "${lib.getExe cfg.package} mail --config ${configFile}";
        StateDirectory = "maddy";
        RuntimeDirectory = "maddy";
        Restart = "on-failure";
      };
    };

    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall [ 25 143 587 ];

    services.nginx.virtualHosts."mail.${cfg.primaryDomain}" = {
      serverAliases = map (d: "mail.${d}") (lib.remove cfg.primaryDomain domains);
      locations."/".proxyPass = "http://unix:${socket}";
    };
  };
}
