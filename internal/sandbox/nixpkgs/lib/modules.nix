# The module system, after nixpkgs' lib/modules.nix: evalModules and the
# definition properties mkIf, mkMerge, mkOverride and mkOrder. The
# semantics are those of NixOS; the code is a compact rewrite.
{ lib }:
let
  inherit (builtins) all any attrNames attrValues concatLists concatMap filter foldl'
    functionArgs genericClosure head isAttrs isBool isFunction isPath isString length map
    mapAttrs removeAttrs sort substring tail zipAttrsWith;
  inherit (lib) isOption mkOption showOption showFiles showValue types;

  # Plain definitions have priority 100; lower numbers win (see mkOverride).
  defaultOverridePriority = 100;
  # Within one priority, definitions are ordered by mkOrder (lists, lines).
  defaultOrderPriority = 1000;

  propertyType = v: if isAttrs v then v._type or "" else "";

  # Push mkIf, mkMerge and mkOverride from a set down into its attributes,
  # without evaluating any condition: `config = mkIf cfg.enable { a = 1; }`
  # must not force cfg.enable merely to learn that `a` is defined.
  pushDownProperties = cfg:
    let t = propertyType cfg; in
    if t == "merge" then concatMap pushDownProperties cfg.contents
    else if t == "if" then map (mapAttrs (_: mkIf cfg.condition)) (pushDownProperties cfg.content)
    else if t == "override" then map (mapAttrs (_: mkOverride cfg.priority)) (pushDownProperties cfg.content)
    else [ cfg ];

  # Resolve the properties of one option definition into a list of
  # { value, priority, order }: mkIf false yields nothing, mkMerge many; the
  # outermost mkOverride and mkOrder count.
  dischargeProperties = discharge { };
  discharge = wrap: v:
    let t = propertyType v; in
    if t == "merge" then concatMap (discharge wrap) v.contents
    else if t == "if" then
      if !isBool v.condition
      then throw "mkIf called with a non-Boolean condition (${lib.valueTypeName v.condition})"
      else if v.condition then discharge wrap v.content
      else [ ]
    else if t == "override" then discharge ({ priority = v.priority; } // wrap) v.content
    else if t == "order" then discharge ({ order = v.priority; } // wrap) v.content
    else [ {
      value = v;
      priority = wrap.priority or defaultOverridePriority;
      order = wrap.order or defaultOrderPriority;
    } ];

  withArticle = d:
    if lib.hasPrefix "one of" d || d == "anything" then d
    else if builtins.elem (substring 0 1 d) [ "a" "e" "i" "o" "u" ] then "an ${d}"
    else "a ${d}";

  typeError = loc: type: def:
    "The option `${showOption loc}' has a value of type ${lib.valueTypeName def.value}, expected ${withArticle type.description}. Definition in `${toString def.file}': ${showValue def.value}";

  # Merge the definitions ({ file, value }) of one option as NixOS does:
  # only those of the highest priority (lowest number) count; they are
  # type-checked, ordered by mkOrder and combined by the type's merge.
  mergeDefinitions = loc: type: defs:
    let
      discharged = concatMap (def: map (d: d // { inherit (def) file; }) (dischargeProperties def.value)) defs;
      highestPrio = foldl' (p: d: lib.min p d.priority) 9999 discharged;
      winners = filter (d: d.priority == highestPrio) discharged;
      defsFinal = map (d: { inherit (d) file value; }) (sort (a: b: a.order < b.order) winners);
      badDef = lib.findFirst (d: !type.check d.value) null defsFinal;
      mergedValue =
        if badDef != null then throw (typeError loc type badDef)
        else type.merge loc defsFinal;
      isDefined = defsFinal != [ ];
    in
    {
      inherit defsFinal highestPrio isDefined mergedValue;
      optionalValue = if isDefined then { value = mergedValue; } else { };
    };

  # An option's record in `options`: its declaration plus value, files,
  # definitions and highestPrio. The value is only computed when used.
  evalOptionValue = loc: opt: defs:
    let
      defaultDefs = lib.optional (opt ? default) {
        file = head opt.declarations;
        value = mkOptionDefault opt.default;
      };
      res = mergeDefinitions loc opt.type (defaultDefs ++ defs);
      value = builtins.addErrorContext "while evaluating the option `${showOption loc}':" (
        if opt.readOnly or false && length defs > 1 then
          throw "The option `${showOption loc}' is read-only, but it is set multiple times, in ${showFiles (map (d: d.file) defs)}."
        else if !res.isDefined then
          throw "The option `${showOption loc}' is used but not defined."
        else if opt ? apply then opt.apply res.mergedValue
        else res.mergedValue);
    in
    opt // {
      inherit loc value;
      inherit (res) isDefined highestPrio;
      files = map (d: d.file) res.defsFinal;
      definitions = map (d: d.value) res.defsFinal;
    };

  # Several declarations of one option: their types must combine (a
  # submodule extended by another module) and at most one has a default.
  mergeOptionDecls = loc: decls:
    let
      typed = filter (d: d.options ? type) decls;
      combine = t: d:
        let merged = t.typeMerge d.options.type; in
        if merged != null then merged
        else throw "The option `${showOption loc}' in `${d.file}' is already declared in ${showFiles (map (x: x.file) typed)} with another type.";
      type = if typed == [ ] then types.unspecified else foldl' combine (head typed).options.type (tail typed);
      withDefault = filter (d: d.options ? default) decls;
    in
    if length withDefault > 1 then
      throw "The option `${showOption loc}' in `${(builtins.elemAt withDefault 1).file}' is already declared in `${(head withDefault).file}'."
    else
      foldl' (acc: d: acc // d.options) { } decls // {
        inherit type;
        declarations = map (d: d.file) decls;
      };

  # Definitions at a level above the options must be attribute sets.
  definitionSets = prefix: def:
    map (v:
      if isAttrs v && !(v ? _type) then v
      else if prefix == [ ] then throw "The module `${def.file}' defines a configuration that is not an attribute set: ${showValue v}."
      else throw "`${showOption prefix}' is a set of options, but `${def.file}' defines it as ${showValue v}.")
      (pushDownProperties def.value);

  # One level of the option tree. declSets: [ { file, options } ], defSets:
  # [ { file, value } ] at this level. Returns the evaluated options (matched)
  # and the definitions no option declares (unmatched).
  mergeModules = prefix: declSets: defSets:
    let
      declsByName = zipAttrsWith (_: decls: decls)
        (map (d: mapAttrs (_: options: { inherit (d) file; inherit options; }) d.options) declSets);
      defsByName = zipAttrsWith (_: defs: defs)
        (concatMap (def: map (mapAttrs (_: value: { inherit (def) file; inherit value; })) (definitionSets prefix def)) defSets);
      node = name: decls:
        let
          loc = prefix ++ [ name ];
          defs = defsByName.${name} or [ ];
        in
        if all (d: isOption d.options) decls then { option = evalOptionValue loc (mergeOptionDecls loc decls) defs; }
        else if any (d: isOption d.options) decls then
          throw "The option `${showOption loc}' in ${showFiles (map (d: d.file) (filter (d: isOption d.options) decls))} is a prefix of options declared in ${showFiles (map (d: d.file) (filter (d: !isOption d.options) decls))}."
        else { sub = mergeModules loc decls defs; };
      nodes = mapAttrs node declsByName;
      undeclared = concatLists (lib.mapAttrsToList (name: defs:
        if declsByName ? ${name} then [ ]
        else map (d: d // { loc = prefix ++ [ name ]; }) defs) defsByName);
    in
    {
      matched = mapAttrs (_: n: n.option or n.sub.matched) nodes;
      unmatched = undeclared ++ concatMap (n: n.sub.unmatched or [ ]) (attrValues nodes);
    };

  # The deepest path of a definition that sets a single attribute, for
  # "does not exist" messages naming the option the user meant.
  definedPath = loc: v:
    let names = if isAttrs v && !(v ? _type) then attrNames v else [ ]; in
    if length names == 1 then definedPath (loc ++ names) v.${head names} else loc;

  # Call a function module with the arguments it asks for; those not given
  # directly (pkgs, ...) come from config._module.args, lazily.
  applyModuleArgs = key: f: args:
    f (args // mapAttrs (name: _:
      builtins.addErrorContext "while evaluating the module argument `${name}' in \"${key}\":"
        (args.${name} or args.config._module.args.${name}))
      (functionArgs f));

  moduleKeywords = [ "_file" "key" "imports" "disabledModules" "meta" "freeformType" "_class" ];

  # A module as { key, file, freeformType, imports, options, config }. A module without
  # `options` and `config` is all config (the shorthand). `meta` is dropped:
  # the stand-in has no manual.
  normalizeModule = file: key: m:
    let
      file' = toString (m._file or file);
      explicit = m ? config || m ? options;
      stray = attrNames (removeAttrs m (moduleKeywords ++ [ "config" "options" ]));
    in
    if explicit && stray != [ ] then
      throw "Module `${file'}' has an unsupported attribute `${head stray}': a module with a top-level `config' or `options' must put its definitions under `config'."
    else {
      key = toString (m.key or key);
      file = file';
      freeformType = m.freeformType or null;
      imports = m.imports or [ ];
      options = m.options or { };
      config = if explicit then m.config or { } else removeAttrs m moduleKeywords;
    };

  loadModule = args: file: key: m:
    if isPath m || (isString m && lib.hasPrefix "/" m) then
      loadModule args (toString m) (toString m) (import m)
    else if isFunction m then loadModule args file key (applyModuleArgs key m args)
    else if isAttrs m then normalizeModule file key m
    else throw "A module imported from `${file}' is ${lib.valueTypeName m}, not a path, a function or an attribute set.";

  # Every module reachable through imports, once: a file imported twice is
  # one module, keyed by its path, as in NixOS.
  collectModules = args: modules:
    genericClosure {
      startSet = lib.imap1 (i: loadModule args "<unknown-file>" "<module ${toString i}>") modules;
      operator = m: lib.imap1 (i: loadModule args m.file "${m.key}:${toString i}") m.imports;
    };

  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOptionDefault = mkOverride 1500; # the priority of an option's default
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
in
{
  inherit mkIf mkMerge mkOverride mkOptionDefault mkOrder mergeDefinitions evalOptionValue
    pushDownProperties dischargeProperties defaultOverridePriority defaultOrderPriority;
  mkDefault = mkOverride 1000;
  mkImageMediaOverride = mkOverride 60;
  mkForce = mkOverride 50;
  mkVMOverride = mkOverride 10;
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
  mkAliasDefinitions = option: mkIf (option.isDefined) (mkMerge option.definitions);

  # evalModules { modules; specialArgs; prefix; } -> { config, options, _module }
  evalModules = { modules, specialArgs ? { }, prefix ? [ ], check ? true }:
    let
      internalModule = {
        _file = "<stand-in lib/modules.nix>";
        key = "<internal>";
        options._module = {
          args = mkOption {
            type = types.lazyAttrsOf types.raw;
            default = { };
            description = "Arguments given to every module, such as pkgs.";
          };
          check = mkOption {
            type = types.bool;
            default = check;
            description = "Whether definitions of undeclared options are errors.";
          };
        };
      };
      args = { inherit lib options config; } // specialArgs;
      collected = collectModules args ([ internalModule ] ++ modules);
      merged = mergeModules prefix
        (map (m: { inherit (m) file options; }) collected)
        (map (m: { inherit (m) file; value = m.config; }) collected);
      options = merged.matched;
      declaredConfig = lib.mapAttrsRecursiveCond (v: !isOption v) (_: opt: opt.value) options;
      # As in NixOS, a module's freeformType makes the definitions that no
      # option declares values of that type (free-form settings next to
      # declared ones); without one they are errors (even under mkIf
      # false), checked when the result is used.
      freeformType = lib.findFirst (t: t != null) null (map (m: m.freeformType) collected);
      freeformConfig = (mergeDefinitions prefix freeformType (map (u: {
        inherit (u) file;
        value = lib.setAttrByPath (lib.drop (length prefix) u.loc) u.value;
      }) merged.unmatched)).mergedValue;
      config =
        if freeformType == null || merged.unmatched == [ ] then declaredConfig
        else lib.recursiveUpdate freeformConfig declaredConfig;
      checkUnmatched =
        let u = head merged.unmatched; in
        if config._module.check && freeformType == null && merged.unmatched != [ ]
        then throw "The option `${showOption (definedPath u.loc u.value)}' does not exist. Definition in `${u.file}'."
        else null;
      checked = builtins.seq checkUnmatched;
    in
    {
      options = checked options;
      config = checked (removeAttrs config [ "_module" ]);
      inherit (config) _module;
      type = "configuration";
    };
}
