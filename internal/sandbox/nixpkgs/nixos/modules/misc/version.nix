# system.stateVersion and the stand-in's NixOS version.
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.system = {
    stateVersion = mkOption {
      type = types.str;
      default = lib.trivial.release;
      description = "The NixOS release whose defaults for stateful data this system keeps.";
    };
    nixos = {
      release = mkOption {
        type = types.str;
        default = lib.trivial.release;
        readOnly = true;
        description = "The NixOS release (of the stand-in).";
      };
      version = mkOption {
        type = types.str;
        default = lib.trivial.version;
        description = "The full NixOS version, written to the system's nixos-version file.";
      };
      label = mkOption {
        type = types.strMatching "[a-zA-Z0-9:_.+-]+";
        default = lib.trivial.version;
        description = "The label in the system's store path name.";
      };
    };
  };
}
