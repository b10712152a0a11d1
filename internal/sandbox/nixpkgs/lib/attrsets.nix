# Attribute set functions, named as in nixpkgs' lib/attrsets.nix.
{ lib }:
let
  inherit (builtins) attrNames attrValues filter foldl' getAttr hasAttr head isAttrs
    length listToAttrs map mapAttrs tail concatMap;
in
rec {
  inherit (builtins) attrNames attrValues getAttr hasAttr listToAttrs mapAttrs removeAttrs
    intersectAttrs catAttrs zipAttrsWith;
  zipAttrs = zipAttrsWith (_: values: values);

  nameValuePair = name: value: { inherit name value; };
  optionalAttrs = cond: as: if cond then as else { };
  genAttrs = names: f: listToAttrs (map (n: nameValuePair n (f n)) names);
  filterAttrs = pred: set:
    listToAttrs (concatMap (name: let v = set.${name}; in if pred name v then [ (nameValuePair name v) ] else [ ]) (attrNames set));
  mapAttrs' = f: set: listToAttrs (map (attr: f attr set.${attr}) (attrNames set));
  mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
  concatMapAttrs = f: v: foldl' (a: b: a // b) { } (attrValues (mapAttrs f v));
  foldlAttrs = f: init: set: foldl' (acc: name: f acc name set.${name}) init (attrNames set);
  foldAttrs = op: nul: list_of_attrs:
    foldl' (acc: a: foldl' (acc': n: acc' // { ${n} = op a.${n} (acc'.${n} or nul); }) acc (attrNames a)) { } (lib.reverseList list_of_attrs);

  attrByPath = attrPath: default: set:
    if attrPath == [ ] then set
    else if isAttrs set && set ? ${head attrPath} then attrByPath (tail attrPath) default set.${head attrPath}
    else default;
  hasAttrByPath = attrPath: set:
    attrPath == [ ] || (isAttrs set && set ? ${head attrPath} && hasAttrByPath (tail attrPath) set.${head attrPath});
  getAttrFromPath = attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${lib.concatStringsSep "." attrPath}'") set;
  setAttrByPath = attrPath: value:
    if attrPath == [ ] then value else { ${head attrPath} = setAttrByPath (tail attrPath) value; };

  recursiveUpdateUntil = pred: lhs: rhs:
    let
      f = attrPath: zipAttrsWith (n: values:
        let here = attrPath ++ [ n ]; in
        if length values == 1 || pred here (lib.elemAt values 1) (head values)
        then head values
        else f here values);
    in
    f [ ] [ rhs lhs ];
  recursiveUpdate = recursiveUpdateUntil (path: lhs: rhs: !(isAttrs lhs && isAttrs rhs));

  mapAttrsRecursiveCond = cond: f: set:
    let
      recurse = path: mapAttrs (name: value:
        if isAttrs value && cond value then recurse (path ++ [ name ]) value else f (path ++ [ name ]) value);
    in
    recurse [ ] set;
  mapAttrsRecursive = mapAttrsRecursiveCond (_: true);
  filterAttrsRecursive = pred: set:
    listToAttrs (concatMap (name:
      let v = set.${name}; in
      if pred name v then [ (nameValuePair name (if isAttrs v then filterAttrsRecursive pred v else v)) ] else [ ])
      (attrNames set));
  collect = pred: attrs:
    if pred attrs then [ attrs ]
    else if isAttrs attrs then concatMap (collect pred) (attrValues attrs)
    else [ ];

  isDerivation = value: value.type or null == "derivation";
  getBin = pkg: pkg.bin or pkg.out or pkg;
  getExe = pkg: "${lib.getBin pkg}/bin/${pkg.meta.mainProgram or pkg.pname or (builtins.parseDrvName pkg.name).name}";
  getExe' = pkg: exe: "${lib.getBin pkg}/bin/${exe}";
}
