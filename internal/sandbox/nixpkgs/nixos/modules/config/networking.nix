# networking.*: the host name (written to /etc/hostname) and the firewall
# options. Sandbox hosts share the machine's network stack, so the
# firewall options are accepted and recorded but have no effect.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.networking;
in
{
  options.networking = {
    hostName = mkOption {
      type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$";
      default = "nixos";
      description = "The host name of the machine.";
    };
    domain = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The domain of the machine.";
    };
    fqdn = mkOption {
      type = types.str;
      readOnly = true;
      default = if cfg.domain != null then "${cfg.hostName}.${cfg.domain}" else cfg.hostName;
      description = "The fully qualified domain name (read-only).";
    };
    firewall = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether to enable the firewall (no effect on a sandbox host).";
      };
      allowedTCPPorts = mkOption {
        type = types.listOf types.port;
        default = [ ];
        description = "TCP ports open to the outside (no effect on a sandbox host).";
      };
      allowedUDPPorts = mkOption {
        type = types.listOf types.port;
        default = [ ];
        description = "UDP ports open to the outside (no effect on a sandbox host).";
      };
    };
  };

  config.environment.etc.hostname = lib.mkIf (cfg.hostName != "") {
    text = cfg.hostName + "\n";
  };
}
