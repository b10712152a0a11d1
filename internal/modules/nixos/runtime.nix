# What every runtime's system has: its host name, and when it runs any
# application, the database server and the web server in front of them.
{ config, lib, ... }:
let
  fed = config.fediversity;
  hasApps = fed.applications != { };
in
{
  config = {
    networking.hostName = fed.runtime.hostName;
    system.stateVersion = fed.runtime.stateVersion;

    services.postgresql.enable = lib.mkIf hasApps true;

    services.nginx = lib.mkIf hasApps {
      enable = true;
      recommendedProxySettings = true;
      defaultListenAddresses = lib.mkIf (fed.runtime.listenAddresses != [ ]) fed.runtime.listenAddresses;
    };
  };
}
