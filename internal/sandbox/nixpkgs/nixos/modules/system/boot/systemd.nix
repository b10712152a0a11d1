# systemd.services (and accepted-but-idle targets and timers). There is
# no systemd on a sandbox host: the enabled services become units.json
# (see nixos/lib/units-json.nix), which switch-to-configuration hands to
# the stand-in supervisor.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf mkMerge mkOption types;
  unitsJson = import ../../../lib/units-json.nix { inherit lib; };

  # A systemd setting: a value, or a list whose definitions concatenate
  # (ExecStartPre from two modules), as NixOS's unitOption.
  unitOption = types.mkOptionType {
    name = "systemd option";
    check = x: atom x || (builtins.isList x && builtins.all atom x);
    merge = loc: defs:
      if builtins.any (d: builtins.isList d.value) defs
      then builtins.concatMap (d: lib.toList d.value) defs
      else lib.mergeEqualOption loc defs;
  };
  atom = x: builtins.isBool x || builtins.isInt x || builtins.isFloat x || lib.isStringLike x;

  unitNames = description: mkOption { type = types.listOf types.str; default = [ ]; inherit description; };
  lines = description: mkOption { type = types.lines; default = ""; inherit description; };

  # Store path names allow fewer characters than unit names.
  scriptName = name: builtins.replaceStrings [ "@" ":" "\\" " " ] [ "_" "-" "-" "-" ] name;
  # As NixOS's makeJobScript: bash -e, one store path per script.
  makeJobScript = name: text:
    let n = scriptName name; in
    "${pkgs.writeTextFile {
      name = "unit-script-${n}";
      executable = true;
      destination = "/bin/${n}";
      text = "#!${pkgs.runtimeShell} -e\n${text}\n";
    }}/bin/${n}";

  serviceModule = { name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; description = "Whether the unit exists."; };
      description = mkOption { type = types.str; default = ""; description = "The unit's description."; };
      wantedBy = unitNames "Units (targets) that start this unit.";
      requiredBy = unitNames "Units that require this unit.";
      after = unitNames "Units started before this one.";
      before = unitNames "Units started after this one.";
      requires = unitNames "Units this one needs; it fails when they do.";
      wants = unitNames "Units started along with this one.";
      bindsTo = unitNames "As requires, for the stand-in.";
      partOf = unitNames "Accepted, no effect.";
      conflicts = unitNames "Accepted, no effect.";
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
        description = "Environment variables of the unit's processes.";
      };
      path = mkOption {
        type = types.listOf (types.oneOf [ types.package types.str ]);
        default = [ ];
        description = "Packages whose bin/ and sbin/ are on the unit's PATH.";
      };
      script = lines "Shell commands run as the main process (bash -e).";
      preStart = lines "Shell commands run before the main process.";
      postStart = lines "Shell commands run after the main process started.";
      preStop = lines "Accepted; the stand-in stops units by signal only.";
      postStop = lines "Accepted; the stand-in stops units by signal only.";
      serviceConfig = mkOption { type = types.attrsOf unitOption; default = { }; description = "The [Service] section."; };
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; description = "The [Unit] section."; };
      restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; description = "Values whose change restarts the unit."; };
      reloadTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; description = "Accepted; treated as restartTriggers would not be."; };
      restartIfChanged = mkOption { type = types.bool; default = true; description = "Whether a changed unit is restarted by a switch."; };
      stopIfChanged = mkOption { type = types.bool; default = true; description = "Accepted, no effect."; };
      startAt = mkOption { type = types.either types.str (types.listOf types.str); default = [ ]; description = "Accepted; the stand-in runs no timers."; };
      startLimitBurst = mkOption { type = types.nullOr types.int; default = null; description = "Starts allowed within startLimitIntervalSec."; };
      startLimitIntervalSec = mkOption { type = types.nullOr types.int; default = null; description = "The interval of startLimitBurst."; };
    };
    # As in NixOS, the scripts become Exec lines, so they merge with the
    # Exec lines other modules give.
    config.serviceConfig = mkMerge [
      (mkIf (config.preStart != "") { ExecStartPre = [ (makeJobScript "${name}-pre-start" config.preStart) ]; })
      (mkIf (config.script != "") { ExecStart = makeJobScript "${name}-start" config.script; })
      (mkIf (config.postStart != "") { ExecStartPost = [ (makeJobScript "${name}-post-start" config.postStart) ]; })
    ];
  };

  # Targets and timers are accepted so that modules written for NixOS
  # evaluate; the stand-in starts every wanted service directly.
  idleUnitModule = {
    options = {
      description = mkOption { type = types.str; default = ""; description = "The unit's description."; };
      wantedBy = unitNames "Accepted, no effect.";
      requiredBy = unitNames "Accepted, no effect.";
      after = unitNames "Accepted, no effect.";
      before = unitNames "Accepted, no effect.";
      requires = unitNames "Accepted, no effect.";
      wants = unitNames "Accepted, no effect.";
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; description = "Accepted, no effect."; };
      timerConfig = mkOption { type = types.attrsOf unitOption; default = { }; description = "Accepted, no effect."; };
    };
  };

  enabled = lib.filterAttrs (_: svc: svc.enable) config.systemd.services;
in
{
  options.systemd = {
    services = mkOption {
      type = types.attrsOf (types.submodule serviceModule);
      default = { };
      description = "Services, run by the stand-in supervisor.";
    };
    targets = mkOption {
      type = types.attrsOf (types.submodule idleUnitModule);
      default = { };
      description = "Accepted; no effect on a sandbox host.";
    };
    timers = mkOption {
      type = types.attrsOf (types.submodule idleUnitModule);
      default = { };
      description = "Accepted; no effect on a sandbox host.";
    };
    packages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "Accepted; no effect on a sandbox host.";
    };
  };

  config.system.build.units = pkgs.writeText "units.json" (builtins.toJSON {
    version = 1;
    units = lib.mapAttrsToList unitsJson.resolve enabled;
  });
}
