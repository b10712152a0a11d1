# A small system: PostgreSQL with a database and the example app.
{ lib, pkgs, ... }:
{
  networking.hostName = "example";
  system.stateVersion = "24.05";
  services.postgresql = {
    enable = true;
    ensureDatabases = [ "example" ];
    ensureUsers = [ { name = "example"; ensureDBOwnership = true; } ];
  };
  services.fediversity-standin-example = {
    enable = true;
    settings = { domain = "example.test"; port = 8080; };
  };
  environment.etc."example/motd".text = "hello\n";
  environment.etc."example/secret" = { text = "s3cret\n"; mode = "0440"; };
}
