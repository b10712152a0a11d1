# services.nginx, with NixOS's option names (those the project's modules
# and the stand-in's application modules set), served by the stand-in
# program's proxy role: virtual hosts by serverName and serverAliases,
# locations that pass requests on (proxyPass). Locations without
# proxyPass, root, extraConfig and the TLS options (forceSSL, enableACME)
# are accepted and not served: sandbox hosts speak plain HTTP.
#
# Unlike NixOS, defaultListenAddresses is empty by default, meaning port 80
# on every address of this machine, which on a sandbox host (sharing the
# machine's network with other hosts) is the host's own address.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.nginx;

  locationModule = {
    options = {
      proxyPass = mkOption { type = types.nullOr types.str; default = null; description = "Adds proxy_pass directive."; };
      proxyWebsockets = mkOption { type = types.bool; default = false; description = "Support proxying websocket connections (always, in the stand-in)."; };
      recommendedProxySettings = mkOption { type = types.bool; default = cfg.recommendedProxySettings; description = "Enable recommended proxy settings."; };
      root = mkOption { type = types.nullOr types.path; default = null; description = "Root directory (not served by the stand-in)."; };
      extraConfig = mkOption { type = types.lines; default = ""; description = "Extra directives (not read by the stand-in)."; };
    };
  };
  vhostModule = {
    options = {
      serverName = mkOption { type = types.nullOr types.str; default = null; description = "Name of this virtual host; defaults to its attribute name."; };
      serverAliases = mkOption { type = types.listOf types.str; default = [ ]; description = "Additional names of virtual hosts served by this virtual host configuration."; };
      forceSSL = mkOption { type = types.bool; default = false; description = "Whether to add a separate nginx server block that redirects to HTTPS (ignored)."; };
      enableACME = mkOption { type = types.bool; default = false; description = "Whether to ask Let's Encrypt to sign a certificate (ignored)."; };
      root = mkOption { type = types.nullOr types.path; default = null; description = "The path of the web root directory (not served by the stand-in)."; };
      extraConfig = mkOption { type = types.lines; default = ""; description = "Extra directives (not read by the stand-in)."; };
      locations = mkOption { type = types.attrsOf (types.submodule locationModule); default = { }; description = "Declarative location config."; };
    };
  };

  proxyConfig = pkgs.writeText "nginx-standin.json" (builtins.toJSON {
    listen = map (address: "${address}:80") cfg.defaultListenAddresses;
    virtualHosts = lib.mapAttrs (name: vhost: {
      serverName = if vhost.serverName != null then vhost.serverName else name;
      inherit (vhost) serverAliases;
      locations = lib.mapAttrs (_: location: { inherit (location) proxyPass; })
        (lib.filterAttrs (_: location: location.proxyPass != null) vhost.locations);
    }) cfg.virtualHosts;
  });
in
{
  options.services.nginx = {
    enable = lib.mkEnableOption "Nginx Web Server";
    package = lib.mkPackageOption pkgs "nginx" { };
    user = mkOption { type = types.str; default = "nginx"; description = "User account under which nginx runs."; };
    group = mkOption { type = types.str; default = "nginx"; description = "Group account under which nginx runs."; };
    recommendedProxySettings = mkOption { type = types.bool; default = false; description = "Whether to enable recommended proxy settings (the stand-in always passes Host and X-Forwarded-*)."; };
    recommendedTlsSettings = mkOption { type = types.bool; default = false; description = "Enable recommended TLS settings (ignored)."; };
    defaultListenAddresses = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Addresses the virtual hosts listen on; empty means every address of this machine.";
    };
    virtualHosts = mkOption { type = types.attrsOf (types.submodule vhostModule); default = { }; description = "Declarative vhost config."; };
  };

  config = lib.mkIf cfg.enable {
    users.users = lib.optionalAttrs (cfg.user == "nginx") {
      nginx = {
        isSystemUser = true;
        inherit (cfg) group;
      };
    };
    users.groups = lib.optionalAttrs (cfg.group == "nginx") { nginx = { }; };

    systemd.services.nginx = {
      description = "Nginx Web Server, stood in by fediversity-standin";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      serviceConfig = {
        # As root, as nginx's master process: binding port 80 needs it.
        ExecStart = "${lib.getExe cfg.package} proxy --config ${proxyConfig}";
        Restart = "always";
      };
    };
  };
}
