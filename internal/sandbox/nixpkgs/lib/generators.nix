# Serialisers for configuration files, after nixpkgs' lib/generators.nix.
{ lib }:
let
  inherit (builtins) concatStringsSep isBool isString map toJSON;

  mkValueStringDefault = v:
    if isBool v then lib.boolToString v
    else if isString v then v
    else toString v;
in
{
  inherit mkValueStringDefault;
  mkKeyValueDefault = { mkValueString ? mkValueStringDefault }: sep: k: v: "${k}${sep}${mkValueString v}";

  toKeyValue = { mkKeyValue ? (k: v: "${k}=${mkValueStringDefault v}") }: attrs:
    lib.concatStrings (lib.mapAttrsToList (k: v: mkKeyValue k v + "\n") attrs);

  toINI = { mkKeyValue ? (k: v: "${k}=${mkValueStringDefault v}") }: sections:
    concatStringsSep "\n" (lib.mapAttrsToList (name: section:
      "[${name}]\n" + lib.concatStrings (lib.mapAttrsToList (k: v: mkKeyValue k v + "\n") section)) sections);

  toJSON = { }: toJSON;
  # JSON is YAML: good enough for configuration files that are read back.
  toYAML = { }: toJSON;
}
