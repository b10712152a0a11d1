# Resolve a systemd.services entry into what the stand-in supervisor runs:
# one record of units.json. Field by field this is what systemd would do
# with the unit; the comments say where the stand-in differs.
{ lib }:
let
  inherit (builtins) concatMap elemAt filter hashString head isString length match split toJSON;
  inherit (lib) hasInfix removeSuffix toList;

  # systemd's booleans: Nix booleans or "yes"/"true"/"on"/"1".
  isTrue = v: v == true || builtins.elem (toString v) [ "yes" "true" "on" "1" ];
  words = v: concatMap (x: filter (w: isString w && w != "") (split "[ \t\n]+" (toString x))) (toList v);

  # An empty line resets the list, as in systemd: [ "" "cmd" ] overrides.
  afterLastReset = builtins.foldl' (acc: line: if line == "" then [ ] else acc ++ [ line ]) [ ];

  # One Exec line into { argv, ignoreFailure, privileged }. Prefixes: "-"
  # ignore failure, "+"/"!" run as root, "@" argv[0]. A line with quotes,
  # backslashes or $ runs under /bin/sh -c "exec ...", whose quoting and
  # variable expansion come close to systemd's for such lines.
  parseExec = line:
    let
      parts = match "([-@:+!]*)(.*)" line;
      prefixes = head parts;
      # match and split drop string context; put the line's back, so that
      # the store paths it names stay in the system's closure.
      withContext = s: builtins.substring 0 0 line + s;
      command = withContext (elemAt parts 1);
      argv = map withContext (words command);
    in
    {
      argv =
        if match ".*[\"'\\\\$].*" command != null then [ "/bin/sh" "-c" "exec ${command}" ]
        else if hasInfix "@" prefixes then [ (head argv) ] ++ lib.drop 2 argv
        else argv;
      ignoreFailure = hasInfix "-" prefixes;
      privileged = hasInfix "+" prefixes || hasInfix "!" prefixes;
    };
  execLines = v: map parseExec (afterLastReset (map toString (toList v)));

  # Dependencies on other services; targets are always reached here.
  serviceDeps = list: map (removeSuffix ".service") (filter (lib.hasSuffix ".service") list);

  # NixOS units see only their `path`; here the machine's tools follow it,
  # since the stand-in packages are thin wrappers around them.
  pathOf = svc: lib.concatStringsSep ":" (filter (p: p != "") [
    (lib.makeBinPath svc.path)
    (lib.makeSearchPath "sbin" svc.path)
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  ]);

  environmentOf = svc:
    { PATH = pathOf svc; }
    // lib.mapAttrs (_: toString) (lib.filterAttrs (_: v: v != null) svc.environment);

  seconds = v: toString v; # systemd time spans ("100ms", "5s", 5); the supervisor parses them
in
{
  inherit parseExec;

  resolve = name: svc:
    let
      sc = svc.serviceConfig;
      uc = svc.unitConfig;
      type = sc.Type or "simple";
      start = execLines (sc.ExecStart or [ ]);
      unit = {
        inherit name;
        inherit (svc) description;
        # exec, notify, forking and dbus services run as simple ones.
        type = if type == "oneshot" then "oneshot" else "simple";
        remainAfterExit = isTrue (sc.RemainAfterExit or false);
        inherit start;
        startPre = execLines (sc.ExecStartPre or [ ]);
        startPost = execLines (sc.ExecStartPost or [ ]);
        user = toString (sc.User or "");
        group = toString (sc.Group or "");
        supplementaryGroups = words (sc.SupplementaryGroups or [ ]);
        environment = environmentOf svc;
        environmentFiles = map toString (toList (sc.EnvironmentFile or [ ]));
        workingDirectory = toString (sc.WorkingDirectory or "");
        restart = toString (sc.Restart or "no");
        restartSec = seconds (sc.RestartSec or "100ms");
        timeoutStartSec = seconds (sc.TimeoutStartSec or sc.TimeoutSec or "90s");
        timeoutStopSec = seconds (sc.TimeoutStopSec or sc.TimeoutSec or "90s");
        killSignal = toString (sc.KillSignal or "SIGTERM");
        startLimitBurst =
          if svc.startLimitBurst != null then svc.startLimitBurst
          else uc.StartLimitBurst or sc.StartLimitBurst or 5;
        startLimitIntervalSec = seconds (
          if svc.startLimitIntervalSec != null then svc.startLimitIntervalSec
          else uc.StartLimitIntervalSec or sc.StartLimitInterval or "10s");
        stateDirectories = words (sc.StateDirectory or [ ]);
        runtimeDirectories = words (sc.RuntimeDirectory or [ ]);
        logsDirectories = words (sc.LogsDirectory or [ ]);
        cacheDirectories = words (sc.CacheDirectory or [ ]);
        stateDirectoryMode = toString (sc.StateDirectoryMode or "0755");
        runtimeDirectoryMode = toString (sc.RuntimeDirectoryMode or "0755");
        wantedBy = svc.wantedBy;
        requiredBy = svc.requiredBy;
        after = serviceDeps svc.after;
        before = serviceDeps svc.before;
        requires = serviceDeps (svc.requires ++ svc.bindsTo);
        wants = serviceDeps svc.wants;
        # Started by a switch, as units wanted by a target are in NixOS.
        autostart = svc.wantedBy ++ svc.requiredBy != [ ];
        inherit (svc) restartIfChanged;
      };
    in
    if unit.type == "simple" && length start != 1 then
      throw "systemd.services.${name}: a service of type ${type} needs exactly one ExecStart (or a script); it has ${toString (length start)}."
    else
      # A changed definition, or a changed restartTrigger, is a new hash:
      # switch-to-configuration restarts the unit.
      unit // { hash = hashString "sha256" (toJSON (unit // { restartTriggers = svc.restartTriggers; })); };
}
