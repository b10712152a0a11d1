# `import <nixpkgs/nixos> { configuration = ...; }`, as in nixpkgs:
# { config, options, pkgs, system = config.system.build.toplevel; }.
{ configuration ?
    (let fromEnv = builtins.getEnv "NIXOS_CONFIG"; in if fromEnv != "" then fromEnv else <nixos-config>)
, system ? builtins.currentSystem
}:
let
  eval = import ./lib/eval-config.nix {
    inherit system;
    modules = [ configuration ];
  };
in
{
  inherit (eval) pkgs config options;
  system = eval.config.system.build.toplevel;
}
