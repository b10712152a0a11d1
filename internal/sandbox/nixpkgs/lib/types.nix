# Option types, after nixpkgs' lib/types.nix. A type checks one definition
# value (check) and combines the definitions of the winning priority
# (merge). typeMerge combines the types of two declarations of one option
# (so that a module can extend a submodule declared elsewhere) or returns
# null when they cannot be combined.
{ lib }:
let
  inherit (builtins) all concatLists concatStringsSep elem filter foldl' head isAttrs isBool
    isFloat isFunction isInt isList isString length map mapAttrs substring tail toJSON zipAttrsWith;
  inherit (lib) getValues mergeEqualOption mergeOneOption mergeDefaultOption showOption showFiles showDefs;

  mkOptionType =
    { name
    , description ? name
    , check ? (_: true)
    , merge ? mergeDefaultOption
    , nestedTypes ? { }
    , payload ? null
    , typeMerge ? null
    }:
    let
      self = {
        _type = "option-type";
        inherit name description check merge nestedTypes payload;
        typeMerge =
          if typeMerge != null then typeMerge
          else other: if other.name == name && other.description == description then self else null;
      };
    in
    self;

  # typeMerge for types that wrap one element type (listOf, attrsOf, ...).
  wrapperMerge = name: rebuild: elemType: other:
    if other.name != name then null
    else
      let merged = elemType.typeMerge other.nestedTypes.elemType; in
      if merged == null then null else rebuild merged;

  # Types whose definitions must all be equal.
  simple = name: description: check: mkOptionType { inherit name description check; merge = mergeEqualOption; };
  intBetween = lo: hi: description:
    simple "intBetween" description (x: isInt x && x >= lo && x <= hi);

  # Per-name merge of attribute set definitions; each name's definitions go
  # through priorities and mkIf again, so `mkIf false` removes a name.
  mergeAttrDefs = loc: elemType: defs:
    zipAttrsWith (name: defs': lib.mergeDefinitions (loc ++ [ name ]) elemType defs')
      (map (def: mapAttrs (_: value: { inherit (def) file; inherit value; }) def.value) defs);
in
rec {
  inherit mkOptionType;
  isOptionType = v: isAttrs v && v._type or "" == "option-type";

  raw = mkOptionType { name = "raw"; description = "raw value"; merge = mergeOneOption; };
  unspecified = mkOptionType { name = "unspecified"; description = "unspecified value"; };

  bool = simple "bool" "boolean" isBool;
  int = simple "int" "signed integer" isInt;
  float = simple "float" "floating point number" isFloat;
  number = either int float;
  port = simple "port" "16-bit port" (x: isInt x && x >= 0 && x <= 65535);
  ints = {
    between = lo: hi: intBetween lo hi "integer between ${toString lo} and ${toString hi} (both inclusive)";
    unsigned = simple "unsignedInt" "unsigned integer, meaning >=0" (x: isInt x && x >= 0);
    positive = simple "positiveInt" "positive integer, meaning >0" (x: isInt x && x > 0);
    u8 = intBetween 0 255 "8-bit unsigned integer";
    u16 = port;
    u32 = intBetween 0 4294967295 "32-bit unsigned integer";
  };

  str = simple "str" "string" isString;
  nonEmptyStr = simple "nonEmptyStr" "non-empty string" (x: isString x && builtins.match "[ \t\n]*" x == null);
  singleLineStr = simple "singleLineStr" "single-line string" (x: isString x && builtins.match "[^\n]*\n?" x != null);
  strMatching = pattern: simple "strMatching ${toJSON pattern}" "string matching the pattern ${pattern}"
    (x: isString x && builtins.match pattern x != null);

  # Definitions are joined with sep, in order (mkBefore/mkAfter apply).
  separatedString = sep: mkOptionType {
    name = "separatedString";
    description = if sep == "" then "concatenated string" else "strings concatenated with ${toJSON sep}";
    check = isString;
    merge = loc: defs: concatStringsSep sep (getValues defs);
    payload = sep;
    typeMerge = other: if other.name == "separatedString" && other.payload == sep then separatedString sep else null;
  };
  lines = separatedString "\n";
  commas = separatedString ",";
  envVar = separatedString ":";
  string = separatedString "";

  # A value starting with "/" (a path literal, a store path, a string).
  path = simple "path" "path" (x: lib.isStringLike x && substring 0 1 (toString x) == "/");
  package = simple "package" "package" (x: lib.isDerivation x || lib.isStorePath x);

  enum = values: mkOptionType {
    name = "enum";
    description = "one of ${concatStringsSep ", " (map toJSON values)}";
    check = x: elem x values;
    merge = mergeEqualOption;
    payload = values;
    typeMerge = other: if other.name == "enum" then enum (lib.unique (values ++ other.payload)) else null;
  };

  # Sets merge attribute by attribute, lists only from a single
  # definition, anything else must be equal.
  anything = mkOptionType {
    name = "anything";
    description = "anything";
    merge = loc: defs:
      let
        kind = v: if isAttrs v && lib.isStringLike v then "stringCoercibleSet" else builtins.typeOf v;
        kinds = map (d: kind d.value) defs;
        common = head kinds;
      in
      if !all (k: k == common) kinds then
        throw "The option `${showOption loc}' has conflicting definition types:${showDefs defs}"
      else if common == "set" then (attrsOf anything).merge loc defs
      else if common == "list" then
        if length defs > 1
        then throw "The option `${showOption loc}' has conflicting list definitions, in ${showFiles (lib.getFiles defs)}; only one definition of a list is allowed."
        else (listOf anything).merge loc defs
      else if common == "lambda" then mergeOneOption loc defs
      else mergeEqualOption loc defs;
  };
  # A shallow attribute set: later definitions update earlier ones.
  attrs = mkOptionType {
    name = "attrs";
    description = "attribute set";
    check = isAttrs;
    merge = loc: foldl' (res: def: res // def.value) { };
  };

  listOf = elemType: mkOptionType {
    name = "listOf";
    description = "list of ${elemType.description}";
    check = isList;
    merge = loc: defs:
      map (x: x.value) (filter (x: x ? value) (concatLists (lib.imap1 (n: def:
        lib.imap1 (m: value:
          (lib.mergeDefinitions (loc ++ [ "[definition ${toString n}-entry ${toString m}]" ]) elemType
            [ { inherit (def) file; inherit value; } ]).optionalValue)
          def.value)
        defs)));
    nestedTypes.elemType = elemType;
    typeMerge = wrapperMerge "listOf" listOf elemType;
  };
  nonEmptyListOf = elemType: (listOf elemType) // {
    description = "non-empty list of ${elemType.description}";
    check = x: isList x && x != [ ];
  };

  attrsOf = elemType: mkOptionType {
    name = "attrsOf";
    description = "attribute set of ${elemType.description}";
    check = isAttrs;
    merge = loc: defs:
      mapAttrs (_: r: r.optionalValue.value)
        (lib.filterAttrs (_: r: r.isDefined) (mergeAttrDefs loc elemType defs));
    nestedTypes.elemType = elemType;
    typeMerge = wrapperMerge "attrsOf" attrsOf elemType;
  };
  # Like attrsOf, but the names are known without evaluating the values;
  # a name whose definitions all vanish (mkIf false) throws when used.
  lazyAttrsOf = elemType: mkOptionType {
    name = "lazyAttrsOf";
    description = "lazy attribute set of ${elemType.description}";
    check = isAttrs;
    merge = loc: defs:
      mapAttrs (name: r: r.optionalValue.value or (throw "The option `${showOption (loc ++ [ name ])}' was accessed but has no value defined."))
        (mergeAttrDefs loc elemType defs);
    nestedTypes.elemType = elemType;
    typeMerge = wrapperMerge "lazyAttrsOf" lazyAttrsOf elemType;
  };

  nullOr = elemType: mkOptionType {
    name = "nullOr";
    description = "null or ${elemType.description}";
    check = x: x == null || elemType.check x;
    merge = loc: defs:
      let nulls = lib.count (def: def.value == null) defs; in
      if nulls == length defs then null
      else if nulls != 0 then throw "The option `${showOption loc}' is defined both null and not null, in ${showFiles (lib.getFiles defs)}."
      else elemType.merge loc defs;
    nestedTypes.elemType = elemType;
    typeMerge = wrapperMerge "nullOr" nullOr elemType;
  };

  uniq = elemType: mkOptionType {
    name = "uniq";
    inherit (elemType) description check;
    merge = mergeOneOption;
    nestedTypes.elemType = elemType;
    typeMerge = wrapperMerge "uniq" uniq elemType;
  };

  either = t1: t2: mkOptionType {
    name = "either";
    description = "${t1.description} or ${t2.description}";
    check = x: t1.check x || t2.check x;
    merge = loc: defs:
      let values = getValues defs; in
      if all t1.check values then t1.merge loc defs
      else if all t2.check values then t2.merge loc defs
      else mergeOneOption loc defs;
    nestedTypes = { left = t1; right = t2; };
  };
  oneOf = ts: foldl' either (head ts) (tail ts);

  # Values of fromType are converted with f; the result must be a toType.
  coercedTo = fromType: f: toType: mkOptionType {
    name = "coercedTo";
    description = "${toType.description} or ${fromType.description} convertible to it";
    check = x: (fromType.check x && toType.check (f x)) || toType.check x;
    merge = loc: defs:
      toType.merge loc (map (def: def // { value = if fromType.check def.value then f def.value else def.value; }) defs);
    nestedTypes = { inherit fromType toType; };
  };

  functionTo = elemType: mkOptionType {
    name = "functionTo";
    description = "function that evaluates to a(n) ${elemType.description}";
    check = isFunction;
    merge = loc: defs: fnArgs:
      (lib.mergeDefinitions (loc ++ [ "<function body>" ]) elemType
        (map (def: { inherit (def) file; value = def.value fnArgs; }) defs)).mergedValue;
    nestedTypes.elemType = elemType;
  };

  # A nested module evaluation per value. `name` (the attribute name under
  # attrsOf) reaches the modules as an argument, as in NixOS.
  submoduleWith = { modules, specialArgs ? { }, shorthandOnlyDefinesConfig ? false, description ? "submodule" }:
    let
      defsAsModules = map ({ file, value }:
        if isAttrs value && shorthandOnlyDefinesConfig
        then { _file = file; config = value; }
        else { _file = file; imports = [ value ]; });
    in
    mkOptionType {
      name = "submodule";
      inherit description;
      check = x: isAttrs x || isFunction x || builtins.isPath x;
      merge = loc: defs:
        (lib.evalModules {
          modules = modules ++ defsAsModules defs;
          specialArgs = specialArgs // { name = lib.last loc; };
          prefix = loc;
        }).config;
      payload = { inherit modules specialArgs; };
      typeMerge = other:
        if other.name != "submodule" then null
        else submoduleWith {
          modules = modules ++ other.payload.modules;
          specialArgs = specialArgs // other.payload.specialArgs;
          inherit shorthandOnlyDefinesConfig description;
        };
    };
  submodule = modules: submoduleWith {
    shorthandOnlyDefinesConfig = true;
    modules = lib.toList modules;
  };
}
