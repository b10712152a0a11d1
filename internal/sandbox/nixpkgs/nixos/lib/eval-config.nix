# The entry point the provider calls, as in nixpkgs:
#   import <nixpkgs/nixos/lib/eval-config.nix> {
#     system = "x86_64-linux"; modules = [ ... ]; specialArgs = { };
#   }
# gives { config, options, pkgs, lib, extendModules, ... }.
{ system ? builtins.currentSystem
, pkgs ? null
, modules
, specialArgs ? { }
, baseModules ? import ../modules/module-list.nix
, extraModules ? [ ]
, prefix ? [ ]
, check ? true
, extraArgs ? { }
, lib ? import ../../lib
}:
let
  # Where eval-config's arguments enter the configuration.
  argsModule = {
    _file = toString ./eval-config.nix;
    key = "<eval-config arguments>";
    config = {
      nixpkgs.system = lib.mkDefault system;
      nixpkgs.pkgs = lib.mkIf (pkgs != null) (lib.mkForce pkgs);
      _module.args = extraArgs;
    };
  };
  evaluate = extra: lib.evalModules {
    modules = baseModules ++ [ argsModule ] ++ extraModules ++ modules ++ extra.modules or [ ];
    specialArgs = { modulesPath = toString ../modules; } // specialArgs // extra.specialArgs or { };
    inherit prefix check;
  };
  withExtras = extra:
    let evaluated = evaluate extra; in
    evaluated // {
      inherit lib;
      pkgs = evaluated._module.args.pkgs;
      extendModules = more: withExtras {
        modules = extra.modules or [ ] ++ more.modules or [ ];
        specialArgs = extra.specialArgs or { } // more.specialArgs or { };
      };
    };
in
withExtras { }
