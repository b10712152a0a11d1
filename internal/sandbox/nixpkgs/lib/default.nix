# The stand-in nixpkgs lib: the module system, the option types and the
# helpers NixOS modules use, under the names nixpkgs gives them. One fixed
# point, so that every part can use every other one.
let
  lib =
    let
      part = file: import file { inherit lib; };
      trivial = part ./trivial.nix;
      lists = part ./lists.nix;
      attrsets = part ./attrsets.nix;
      strings = part ./strings.nix;
      options = part ./options.nix;
      modules = part ./modules.nix;
      generators = part ./generators.nix;
      types = import ./types.nix { inherit lib; };
    in
    trivial // lists // attrsets // strings // options // modules // {
      inherit trivial lists attrsets strings options modules generators types;
      # Modules name their maintainers; the stand-in keeps no such lists.
      maintainers = { };
      teams = { };
    };
in
lib
