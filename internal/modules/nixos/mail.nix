# E-mail for every operator's domain, through NixOS's services.maddy: one
# server on the runtime, each domain with its own DKIM key, generated on
# the host at maddy's conventional path (the public half goes into the
# operator's DNS records).
{ config, lib, ... }:
let
  fed = config.fediversity;
  domains = builtins.sort builtins.lessThan (lib.mapAttrsToList (_: operator: operator.domain) fed.operators);
  primaryDomain = builtins.head domains;
  dkimKey = domain: "/var/lib/maddy/dkim_keys/${domain}_default.key";
in
{
  config = lib.mkIf (fed.operators != { }) {
    services.maddy = {
      enable = true;
      hostname = "mail.${primaryDomain}";
      inherit primaryDomain;
      localDomains = domains;
      openFirewall = true;
    };

    fediversity.secrets = lib.genAttrs (map dkimKey domains) (_: {
      owner = "maddy";
      group = "maddy";
      kind = "rsa-private-key";
      size = 2048;
    });
  };
}
