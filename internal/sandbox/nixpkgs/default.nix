# The stand-in nixpkgs: `import <nixpkgs> { }` gives its package set, and
# <nixpkgs/nixos/lib/eval-config.nix> and <nixpkgs/nixos> evaluate NixOS
# configurations, as with a real nixpkgs. See pkgs/default.nix.
args: import ./pkgs args
