# example-system.nix with the app's settings changed: only its unit differs.
{ lib, ... }:
{
  imports = [ ./example-system.nix ];
  services.fediversity-standin-example.settings.port = lib.mkForce 8081;
}
