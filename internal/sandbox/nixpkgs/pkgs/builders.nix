# Trivial builders, named as in nixpkgs (runCommand, writeText, ...). Each
# derivation is built by the machine's bash with PATH=/usr/bin:/bin; the
# text of files travels through passAsFile, never through argv.
{ lib, system }:
let
  inherit (lib) escapeShellArg optionalString;
in
rec {
  runtimeShell = "/bin/bash";

  # runCommand name env script: script runs under `bash -e` with $out set.
  runCommand = name: env: buildCommand:
    derivation (removeAttrs env [ "passthru" "meta" ] // {
      inherit name system buildCommand;
      builder = runtimeShell;
      args = [ "-e" "-c" ''. "$buildCommandPath"'' ];
      passAsFile = [ "buildCommand" ] ++ env.passAsFile or [ ];
      PATH = "/usr/bin:/bin";
    }) // env.passthru or { } // lib.optionalAttrs (env ? meta) { inherit (env) meta; };
  runCommandLocal = runCommand;
  runCommandNoCC = runCommand;

  # A minimal stdenv.mkDerivation: buildCommand, or the build and install
  # phases in order; no sources are unpacked.
  mkDerivation = args:
    let
      name = args.name or "${args.pname}-${args.version}";
      phases = lib.concatMapStrings (p: (args.${p} or "") + "\n") [ "buildPhase" "installPhase" ];
    in
    runCommand name (removeAttrs args [ "name" "buildCommand" "buildPhase" "installPhase" ])
      (args.buildCommand or phases) // lib.optionalAttrs (args ? pname) { inherit (args) pname version; };

  writeTextFile = { name, text, executable ? false, destination ? "", meta ? { } }:
    runCommand name { inherit text meta; passAsFile = [ "text" ]; } ''
      target="$out"${escapeShellArg destination}
      mkdir -p "$(dirname "$target")"
      cp "$textPath" "$target"
      ${optionalString executable ''chmod +x "$target"''}
    '';
  writeText = name: text: writeTextFile { inherit name text; };
  writeTextDir = path: text: writeTextFile {
    inherit text;
    name = baseNameOf path;
    destination = "/${path}";
  };
  writeScript = name: text: writeTextFile { inherit name text; executable = true; };
  writeScriptBin = name: text: writeTextFile {
    inherit name text;
    executable = true;
    destination = "/bin/${name}";
  };
  writeShellScript = name: text: writeScript name "#!${runtimeShell}\n${text}";
  writeShellScriptBin = name: text: writeScriptBin name "#!${runtimeShell}\n${text}";
  writeShellApplication = { name, text, runtimeInputs ? [ ] }:
    writeShellScriptBin name ''
      set -o errexit -o nounset -o pipefail
      ${optionalString (runtimeInputs != [ ]) ''export PATH=${escapeShellArg (lib.makeBinPath runtimeInputs)}:"$PATH"''}
      ${text}
    '';

  # A tree of symlinks to the files of all paths (later paths win).
  symlinkJoin = { name, paths, postBuild ? "" }:
    runCommand name { } ''
      mkdir -p "$out"
      for p in ${lib.escapeShellArgs paths}; do
        cp -rsf "$p"/. "$out"/
        chmod -R u+w "$out"
      done
      ${postBuild}
    '';
  # linkFarm name { "a/b" = path; } or [ { name; path; } ]
  linkFarm = name: entries:
    let list = if builtins.isList entries then entries else lib.mapAttrsToList (name: path: { inherit name path; }) entries; in
    runCommand name { } ''
      mkdir -p "$out"
      ${lib.concatMapStrings (e: ''
        mkdir -p "$(dirname "$out"/${escapeShellArg e.name})"
        ln -s ${escapeShellArg e.path} "$out"/${escapeShellArg e.name}
      '') list}
    '';
}
