# NixOS programs that the stand-in program plays, under their own names:
# nixos-container (its nixos-container role) and systemd's systemctl (its
# systemctl role). The stand-in systemd package has systemctl only.
{ lib, writeShellScriptBin, fediversity-standin }:
let
  role = name: writeShellScriptBin name ''
    exec ${lib.getExe fediversity-standin} ${name} "$@"
  '';
in
{
  nixos-container = role "nixos-container";
  systemd = role "systemctl" // { pname = "systemd"; version = "standin"; };
}
