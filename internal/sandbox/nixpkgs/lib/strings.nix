# String functions, named as in nixpkgs' lib/strings.nix.
{ lib }:
let
  inherit (builtins) concatStringsSep filter isString length map replaceStrings split stringLength substring;
in
rec {
  inherit (builtins) concatStringsSep stringLength substring replaceStrings toString toJSON
    fromJSON match split hashString;
  concatStrings = concatStringsSep "";
  concatMapStrings = f: list: concatStrings (map f list);
  concatMapStringsSep = sep: f: list: concatStringsSep sep (map f list);
  concatImapStringsSep = sep: f: list: concatStringsSep sep (lib.imap1 f list);
  concatLines = list: concatMapStrings (s: s + "\n") list;
  optionalString = cond: string: if cond then string else "";

  hasPrefix = pref: str: substring 0 (stringLength pref) str == pref;
  hasSuffix = suffix: content:
    let lenContent = stringLength content; lenSuffix = stringLength suffix; in
    lenContent >= lenSuffix && substring (lenContent - lenSuffix) lenContent content == suffix;
  hasInfix = infix: content: builtins.match ".*${escapeRegex infix}.*" "${content}" != null;
  removePrefix = prefix: str:
    if hasPrefix prefix str then substring (stringLength prefix) (stringLength str) str else str;
  removeSuffix = suffix: str:
    if hasSuffix suffix str then substring 0 (stringLength str - stringLength suffix) str else str;

  # splitString "," "a,b" == [ "a" "b" ]
  splitString = sep: s: filter isString (split (escapeRegex sep) (toString s));
  stringToCharacters = s: builtins.genList (p: substring p 1 s) (stringLength s);
  # Nix's regular expressions (POSIX extended, via std::regex) reject
  # "\]" and "\}", so those two are escaped as bracket expressions.
  escapeRegex = replaceStrings
    [ "\\" "[" "]" "{" "}" "(" ")" "." "*" "+" "?" "^" "$" "|" ]
    [ "\\\\" "\\[" "[]]" "\\{" "[}]" "\\(" "\\)" "\\." "\\*" "\\+" "\\?" "\\^" "\\$" "\\|" ];
  escape = list: replaceStrings list (map (c: "\\${c}") list);
  trim = s:
    let m = builtins.match "[[:space:]]*(.*[^[:space:]])[[:space:]]*" s; in
    if m == null then "" else builtins.head m;

  toUpper = replaceStrings lowerChars upperChars;
  toLower = replaceStrings upperChars lowerChars;
  lowerChars = stringToCharacters "abcdefghijklmnopqrstuvwxyz";
  upperChars = stringToCharacters "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  # Quote for a POSIX shell: the only way to break out of '...' is a quote.
  escapeShellArg = arg: "'${replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  escapeShellArgs = concatMapStringsSep " " escapeShellArg;
  escapeNixString = s: builtins.toJSON s;

  makeSearchPath = subDir: paths: concatStringsSep ":" (map (p: "${p}/${subDir}") (filter (p: p != null) paths));
  makeBinPath = makeSearchPath "bin";
  fixedWidthString = width: filler: str:
    let strw = stringLength str; in
    if strw >= width then str else fixedWidthString width filler (filler + str);
  fixedWidthNumber = width: n: fixedWidthString width "0" (toString n);

  isStorePath = x:
    let s = toString x; in
    lib.isStringLike x && hasPrefix "${builtins.storeDir}/" s && builtins.match ".*/.*" (removePrefix "${builtins.storeDir}/" s) == null;
  isStringLike = x: isString x || builtins.isPath x || x ? outPath || x ? __toString;

  versionOlder = v1: v2: builtins.compareVersions v2 v1 == 1;
  versionAtLeast = v1: v2: !versionOlder v1 v2;
  toInt = s:
    let n = builtins.fromJSON s; in
    if builtins.isInt n then n else throw "Could not convert ${s} to int.";
}
