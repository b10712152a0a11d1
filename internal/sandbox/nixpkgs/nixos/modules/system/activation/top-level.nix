# system.build.toplevel: the system as one store path, named and shaped as
# in NixOS where the stand-in can (nixos-version, etc/, activate,
# bin/switch-to-configuration), plus units.json for the supervisor. Its
# inputs carry no time stamps, so one configuration gives one path.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  build = config.system.build;

  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  checked = drv:
    if failedAssertions != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failedAssertions}"
    else builtins.foldl' (d: w: builtins.trace "warning: ${w}" d) drv config.warnings;

  switchTemplate = pkgs.writeText "switch-to-configuration-template" ''
    #!/bin/sh
    # switch-to-configuration switch|boot|test|dry-activate, by the stand-in program.
    exec ${lib.getExe pkgs.fediversity-standin} switch --toplevel @out@ "$@"
  '';

  toplevel = pkgs.runCommand "nixos-system-${config.networking.hostName}-${config.system.nixos.label}" { } ''
    mkdir -p "$out/bin"
    printf '%s' ${lib.escapeShellArg config.system.nixos.version} > "$out/nixos-version"
    printf '%s' ${lib.escapeShellArg pkgs.system} > "$out/system"
    cp ${build.units} "$out/units.json"
    ln -s ${build.etc} "$out/etc"
    ln -s ${build.path} "$out/sw"
    sed "s|@out@|$out|g" ${build.activate} > "$out/activate"
    sed "s|@out@|$out|g" ${switchTemplate} > "$out/bin/switch-to-configuration"
    chmod +x "$out/activate" "$out/bin/switch-to-configuration"
  '';
in
{
  options.system.build = mkOption {
    type = types.lazyAttrsOf (types.uniq types.unspecified);
    default = { };
    description = "The system's build products; toplevel is the system. Each is defined once.";
  };

  config.system.build.toplevel = checked toplevel;
}
