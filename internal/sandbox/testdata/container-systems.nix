# The systems TestContainers builds inside a sandbox host with the stand-in
# nixpkgs: for containers ct1 (PostgreSQL and the example app, then the
# app on another port, then with a failing unit) and ct2 (PostgreSQL), and
# for the host itself (PostgreSQL).
let
  system = modules: (import <nixpkgs/nixos> { configuration = { imports = modules; }; }).system;
  named = name: {
    networking.hostName = name;
    system.stateVersion = "24.05";
  };
  postgres = { services.postgresql.enable = true; };
  app = port: {
    services.postgresql = {
      ensureDatabases = [ "fediversity-example" ];
      ensureUsers = [ { name = "fediversity-example"; ensureDBOwnership = true; } ];
    };
    services.fediversity-standin-example = {
      enable = true;
      settings = {
        kind = "mastodon";
        version = "4.4.4";
        domain = "ct1.test";
        listen = "127.0.0.1:${toString port}"; # the container's own address
        state_dir = "/var/lib/fediversity-standin-example";
        database = { name = "fediversity-example"; user = "fediversity-example"; };
      };
    };
    systemd.services.fediversity-standin-example = {
      after = [ "postgresql-setup.service" ];
      requires = [ "postgresql-setup.service" ];
    };
  };
  broken = {
    systemd.services.broken = {
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Type = "oneshot";
      script = "exit 1";
    };
  };
in
{
  ct1 = system [ (named "ct1") postgres (app 8080) ];
  ct1-moved = system [ (named "ct1") postgres (app 8081) ];
  ct1-broken = system [ (named "ct1") postgres (app 8081) broken ];
  ct2 = system [ (named "ct2") postgres ];
  host = system [ (named "host1") postgres ];
}
