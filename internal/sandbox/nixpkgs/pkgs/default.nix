# The stand-in package set. Builds run with the Nix sandbox off and use
# the machine's /bin/sh and tools, so packages here are thin derivations
# around the host's programs, plus the writers NixOS modules rely on and
# stand-ins for the applications (standin-apps.nix). Overlays work as in
# nixpkgs.
{ system ? builtins.currentSystem
, localSystem ? { inherit system; }
, overlays ? [ ]
, config ? { }
, ...
}:
let
  lib = import ../lib;
  hostSystem = localSystem.system or system;
  platform = {
    system = hostSystem;
    isLinux = true;
    isx86_64 = hostSystem == "x86_64-linux";
    isAarch64 = hostSystem == "aarch64-linux";
  };

  base = self:
    let
      # Known without `self`, so that the set's names are too.
      builders = import ./builders.nix { inherit lib; system = hostSystem; };
      callPackage = fn: args:
        let f = if builtins.isPath fn then import fn else fn; in
        f (builtins.intersectAttrs (builtins.functionArgs f) self // args);
    in
    builders // {
      inherit lib callPackage config;
      pkgs = self;
      system = hostSystem;
      stdenv = {
        inherit (builders) mkDerivation;
        system = hostSystem;
        hostPlatform = platform;
        buildPlatform = platform;
        targetPlatform = platform;
        isLinux = true;
        shell = builders.runtimeShell;
      };
      formats = callPackage ./formats.nix { };
      fediversity-standin = callPackage ./fediversity-standin.nix { };
    } // import ./host-packages.nix { inherit lib; inherit (builders) runCommand; }
    // import ./standin-tools.nix {
      inherit lib;
      inherit (builders) writeShellScriptBin;
      inherit (self) fediversity-standin;
    }
    // import ./standin-apps.nix {
      inherit lib;
      inherit (builders) runCommand;
      inherit (self) fediversity-standin matrix-synapse-unwrapped;
    };
in
lib.fix (builtins.foldl' (acc: overlay: lib.extends overlay acc) base overlays)
