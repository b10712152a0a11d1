# List functions, named as in nixpkgs' lib/lists.nix.
{ lib }:
let
  inherit (builtins) length elemAt filter foldl' genList head tail concatMap;
in
rec {
  inherit (builtins) length elem elemAt filter head tail map concatLists concatMap
    genList sort any all partition groupBy;
  foldl' = builtins.foldl';
  foldl = op: nul: list: builtins.foldl' op nul list;
  foldr = op: nul: list:
    let
      len = length list;
      go = n: if n == len then nul else op (elemAt list n) (go (n + 1));
    in
    go 0;

  optional = cond: elem: if cond then [ elem ] else [ ];
  optionals = cond: elems: if cond then elems else [ ];
  toList = x: if builtins.isList x then x else [ x ];
  singleton = x: [ x ];
  forEach = xs: f: map f xs;

  imap0 = f: list: genList (n: f n (elemAt list n)) (length list);
  imap1 = f: list: genList (n: f (n + 1) (elemAt list n)) (length list);
  flatten = x: if builtins.isList x then concatMap flatten x else [ x ];
  last = list: elemAt list (length list - 1);
  init = list: genList (n: elemAt list n) (length list - 1);
  take = count: list: genList (n: elemAt list n) (lib.min count (length list));
  drop = count: list:
    let len = length list; in
    genList (n: elemAt list (n + count)) (if count >= len then 0 else len - count);
  range = first: last: if first > last then [ ] else genList (n: first + n) (last - first + 1);
  reverseList = list: let len = length list; in genList (n: elemAt list (len - n - 1)) len;
  count = pred: list: length (filter pred list);
  remove = e: filter (x: x != e);
  subtractLists = e: filter (x: !(builtins.elem x e));
  intersectLists = e: filter (x: builtins.elem x e);
  findFirst = pred: default: list:
    let found = filter pred list; in if found == [ ] then default else head found;
  unique = foldl' (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];
  zipListsWith = f: a: b: genList (n: f (elemAt a n) (elemAt b n)) (lib.min (length a) (length b));
  zipLists = zipListsWith (fst: snd: { inherit fst snd; });
  naturalSort = builtins.sort builtins.lessThan;
  sortOn = f: builtins.sort (a: b: f a < f b);
  isList = builtins.isList;
}
