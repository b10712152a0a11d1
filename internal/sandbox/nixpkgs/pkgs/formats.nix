# pkgs.formats: a type for settings options and a generator for the file.
{ lib, writeText }:
let
  inherit (lib) types;
  jsonValue = types.nullOr (types.oneOf [
    types.bool
    types.int
    types.float
    types.str
    types.path
    (types.attrsOf jsonValue)
    (types.listOf jsonValue)
  ]) // { description = "JSON value"; };
  jsonLike = { }: {
    type = jsonValue;
    generate = name: value: writeText name (builtins.toJSON value);
  };
in
{
  json = jsonLike;
  # JSON is YAML, so YAML files are written as JSON.
  yaml = jsonLike;
}
