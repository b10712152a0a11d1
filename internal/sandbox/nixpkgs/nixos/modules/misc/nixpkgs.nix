# nixpkgs.*: which package set the modules get as `pkgs`.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.nixpkgs;
  platformSystem = p: if builtins.isString p then p else p.system;
in
{
  options.nixpkgs = {
    system = mkOption {
      type = types.str;
      description = "The system to build for (set by eval-config's `system`).";
    };
    hostPlatform = mkOption {
      type = types.either types.str types.attrs;
      default = cfg.system;
      description = "The platform the system runs on; a system name or { system = ...; }.";
    };
    overlays = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
      description = "Overlays applied to the package set.";
    };
    config = mkOption {
      type = types.attrs;
      default = { };
      description = "The nixpkgs configuration (accepted, unused by the stand-in).";
    };
    pkgs = mkOption {
      type = types.attrs;
      default = import ../../../pkgs {
        system = platformSystem cfg.hostPlatform;
        inherit (cfg) overlays config;
      };
      description = "The package set; eval-config's `pkgs` argument sets it.";
    };
  };

  config._module.args.pkgs = cfg.pkgs;
}
