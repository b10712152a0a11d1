# Declaring options and the merge functions shared by the option types,
# after nixpkgs' lib/options.nix.
{ lib }:
let
  inherit (builtins) all any attrNames concatStringsSep head isAttrs isBool isList isString length
    map match toJSON typeOf;
in
rec {
  # An option declaration; evalModules recognises it by _type. Only the
  # attributes given are kept, so `opt ? default` says whether it has one.
  mkOption = attrs: attrs // { _type = "option"; };
  isOption = v: isAttrs v && v._type or "" == "option";

  mkEnableOption = name: mkOption {
    type = lib.types.bool;
    default = false;
    example = true;
    description = "Whether to enable ${name}.";
  };

  # mkPackageOption pkgs "postgresql" { default = [ "postgresql_15" ]; }
  mkPackageOption = pkgs: name: args@{ nullable ? false, extraDescription ? "", ... }:
    let
      namePath = lib.toList name;
      defaultPath = lib.toList (args.default or namePath);
      hasDefault = !(args ? default && args.default == null);
      shown = concatStringsSep "." namePath;
    in
    mkOption ({
      type = if nullable then lib.types.nullOr lib.types.package else lib.types.package;
      description = "The ${shown} package to use." + lib.optionalString (extraDescription != "") " ${extraDescription}";
    } // lib.optionalAttrs hasDefault {
      default = lib.attrByPath defaultPath (throw "pkgs.${concatStringsSep "." defaultPath} does not exist (default of the ${shown} package option)") pkgs;
      defaultText = "pkgs.${concatStringsSep "." defaultPath}";
    } // lib.optionalAttrs (args ? example) { inherit (args) example; });

  # Documentation helpers: the stand-in renders no manual, so they return
  # their text as is.
  literalExpression = text: text;
  literalMD = text: text;
  mdDoc = text: text;

  # `services.postgresql.ensureUsers."[definition 1-entry 1]".name`
  showOption = loc: concatStringsSep "." (map (part:
    if match "[a-zA-Z_][a-zA-Z0-9_'-]*" part != null || match "[[].*[]]|<.*>|[*]" part != null
    then part else toJSON part) loc);
  showFiles = files: concatStringsSep ", " (map (f: "`${toString f}'") files);
  getValues = map (d: d.value);
  getFiles = map (d: d.file);

  # A short rendering of a value for error messages; big or unprintable
  # values are named by type only.
  showValue = v:
    if isString v || builtins.isInt v || isBool v || builtins.isFloat v || v == null then toJSON v
    else if builtins.isPath v then toString v
    else if lib.isDerivation v then "<package ${v.name or "?"}>"
    else "<${valueTypeName v}>";
  valueTypeName = v:
    let t = typeOf v; in
    if t == "set" then (if lib.isDerivation v then "package" else "attribute set")
    else { int = "integer"; bool = "boolean"; lambda = "function"; }.${t} or t;
  showDefs = defs: concatStringsSep "" (map (d: "\n- In `${toString d.file}': ${showValue d.value}") defs);

  # The merge strategies of the option types (see types.nix).
  mergeEqualOption = loc: defs:
    if defs == [ ] then throw "The option `${showOption loc}' has no definitions to merge."
    else if length defs == 1 then (head defs).value
    else if all (d: d.value == (head defs).value) defs then (head defs).value
    else throw "The option `${showOption loc}' has conflicting definition values:${showDefs defs}\nUse `lib.mkForce value' or `lib.mkDefault value' to change the priority of one of them.";

  mergeOneOption = loc: defs:
    if length defs == 1 then (head defs).value
    else throw "The option `${showOption loc}' is defined multiple times, but can have only one definition:${showDefs defs}";

  # Used by options without a type: lists concatenate, sets update,
  # booleans "or", anything else must agree.
  mergeDefaultOption = loc: defs:
    let values = getValues defs; in
    if length values == 1 then head values
    else if all isList values then lib.concatLists values
    else if all isAttrs values then builtins.foldl' (a: b: a // b) { } values
    else if all isBool values then any (x: x) values
    else if all isString values then lib.concatStrings values
    else mergeEqualOption loc defs;
}
