# What every runtime's system has: its host name; once it has an operator,
# the database server, configured while the operator is (so that an
# application's data can still be deleted after the application is gone);
# and when it has any application, the web server in front of them.
#
# The database server starts with the first application that runs: an
# operator alone needs none (deleting an application's data starts it when
# it is not running). A runtime whose applications are all stopped
# (running = false) runs nothing: nothing needs the database, web or mail
# server, so they are configured but held back as held-back.nix holds back
# applications, and start with the first application that runs again. An
# application that a migration holds back counts as running: it is about
# to start, and the migration fills in its database meanwhile.
{ config, lib, ... }:
let
  fed = config.fediversity;
  apps = lib.attrValues fed.applications;
  hasApps = apps != [ ];
  hasOperators = fed.operators != { };
  runs = app: app.stopped == [ ] || app.heldBack != [ ];
  anyRuns = lib.any runs apps;
  noneRuns = hasApps && !anyRuns;
  database = lib.optionals config.services.postgresql.enable [ "postgresql" "postgresql-setup" ];
  sharedServices =
    database
    ++ lib.optional config.services.nginx.enable "nginx"
    ++ lib.optional config.services.maddy.enable "maddy";
  heldBack = if noneRuns then sharedServices else lib.optionals (!anyRuns) database;
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

    systemd.services = lib.genAttrs heldBack (_: { wantedBy = lib.mkForce [ ]; });
  };
}
