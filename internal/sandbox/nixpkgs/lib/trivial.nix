# Small general-purpose functions, named as in nixpkgs' lib/trivial.nix.
{ lib }:
{
  id = x: x;
  const = x: _: x;
  flip = f: a: b: f b a;
  pipe = builtins.foldl' (x: f: f x);
  concat = a: b: a ++ b;
  or = a: b: a || b;
  and = a: b: a && b;
  boolToString = b: if b then "true" else "false";
  mergeAttrs = a: b: a // b;
  min = a: b: if a < b then a else b;
  max = a: b: if a > b then a else b;

  # The least fixed point of f, for self-referencing sets.
  fix = f: let x = f x; in x;
  # Overlay composition: extends overlay base.
  extends = overlay: base: self: let super = base self; in super // overlay self super;

  importJSON = path: builtins.fromJSON (builtins.readFile path);
  fileContents = path: lib.removeSuffix "\n" (builtins.readFile path);

  inherit (builtins) isFunction isInt isBool isFloat isString isList isAttrs isPath
    functionArgs typeOf seq deepSeq tryEval;
  setFunctionArgs = f: args: { __functor = _: f; __functionArgs = args; };

  warn = msg: builtins.trace "warning: ${msg}";
  warnIf = cond: msg: if cond then builtins.trace "warning: ${msg}" else x: x;
  throwIf = cond: msg: if cond then throw msg else x: x;
  throwIfNot = cond: msg: if cond then x: x else throw msg;

  # Release numbers of the stand-in, shaped like nixpkgs' own.
  version = "24.05-standin";
  release = "24.05";
  trivial = { inherit (lib) version release; };
}
