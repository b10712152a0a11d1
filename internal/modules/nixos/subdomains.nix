# Every application needs a host name of its own (two of one operator on
# one subdomain, or another operator's on the same name, would share a
# virtual host), and mail.<domain> is the operator's mail server.
{ config, lib, ... }:
let
  fed = import ./lib.nix { inherit lib config; };
  apps = lib.attrValues config.fediversity.applications;
  byHost = builtins.groupBy fed.domainOf apps;
  names = sharing: lib.concatMapStringsSep " and " (app: "${app.operator}-${app.kind}") sharing;
in
{
  config.assertions =
    lib.mapAttrsToList
      (host: sharing: {
        assertion = builtins.length sharing == 1;
        message = "applications ${names sharing} share ${host}: give each its own subdomain";
      })
      byHost
    ++ map
      (app: {
        assertion = app.subdomain != "mail";
        message = "application ${app.operator}-${app.kind} uses ${fed.domainOf app}, the name of the operator's mail server: choose another subdomain";
      })
      apps;
}
