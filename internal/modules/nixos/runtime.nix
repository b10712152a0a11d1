# What every runtime's system has: its host name; once it has an operator,
# the database server (which stays while the operator does, so that an
# application's data can still be deleted after the application is gone);
# and when it runs any application, the web server in front of them.
{ config, lib, ... }:
let
  fed = config.fediversity;
  hasApps = fed.applications != { };
  hasOperators = fed.operators != { };
in
{
  config = {
    networking.hostName = fed.runtime.hostName;
    # An imperative NixOS container (nixos-container), not a machine.
    boot.isContainer = fed.runtime.kind == "container";
    system.stateVersion = fed.runtime.stateVersion;

    services.postgresql.enable = lib.mkIf hasOperators true;

    services.nginx = lib.mkIf hasApps {
      enable = true;
      recommendedProxySettings = true;
      defaultListenAddresses = lib.mkIf (fed.runtime.listenAddresses != [ ]) fed.runtime.listenAddresses;
    };
  };
}
