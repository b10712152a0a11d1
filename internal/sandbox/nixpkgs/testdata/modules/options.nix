# Options of every kind, declared once for the module system tests.
{ lib, ... }:
let
  inherit (lib) mkOption types;
  userModule = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      home = mkOption { type = types.str; default = "/home/${name}"; };
      groups = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };
in
{
  options.test = {
    name = mkOption { type = types.str; default = "from-option-default"; };
    enable = mkOption { type = types.bool; default = false; };
    port = mkOption { type = types.port; default = 80; };
    list = mkOption { type = types.listOf types.str; default = [ ]; };
    attrs = mkOption { type = types.attrsOf types.int; default = { }; };
    text = mkOption { type = types.lines; default = ""; };
    mode = mkOption { type = types.enum [ "fast" "safe" ]; default = "safe"; };
    maybe = mkOption { type = types.nullOr types.str; default = null; };
    either = mkOption { type = types.either types.int types.str; default = 0; };
    anything = mkOption { type = types.anything; default = { }; };
    users = mkOption { type = types.attrsOf (types.submodule userModule); default = { }; };
    derived = mkOption { type = types.str; };
    settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf types.anything;
        options.port = mkOption { type = types.port; default = 80; };
      };
      default = { };
    };
  };
}
