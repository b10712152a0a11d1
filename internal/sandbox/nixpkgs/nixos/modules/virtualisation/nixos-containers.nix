# boot.isContainer, as NixOS declares it for systems that run as
# imperative containers. A sandbox container shares its host's kernel and
# network as a real one does; the option changes nothing else here.
{ lib, ... }:
{
  options.boot.isContainer = lib.mkOption {
    type = lib.types.bool;
    default = false;
    description = "Whether this NixOS machine is a lightweight container running in another NixOS system.";
  };
}
