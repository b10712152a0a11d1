# What the provider builds for a runtime:
#
#   nix-build entry.nix -I nixpkgs=PINNED --argstr fragments DIR
#
# DIR holds one JSON file per runtime, operator and application (written
# by the provider, mode 0600). Desired state reaches Nix only as data read
# from those files: nothing user-supplied is ever part of Nix source.
{ fragments }:
let
  desired = import ./fragments.nix { dir = fragments; };
  nixos = import <nixpkgs/nixos/lib/eval-config.nix> {
    system = builtins.currentSystem;
    modules = [
      ./default.nix
      { fediversity = desired.config; }
      {
        environment.etc = builtins.listToAttrs (map
          (name: { name = "fediversity/fragments/${name}"; value.text = desired.files.${name}; })
          (builtins.attrNames desired.files));
      }
    ];
  };
in
nixos.config.system.build.toplevel
