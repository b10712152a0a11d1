# system.activationScripts: shell snippets run by the system's `activate`
# on every switch. As in NixOS, each is a string or { text, deps }, they
# run in dependency order with ties broken by name, in one bash whose ERR
# trap records a failure without stopping the others.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;

  snippetModule = {
    options = {
      text = mkOption { type = types.lines; description = "The snippet."; };
      deps = mkOption { type = types.listOf types.str; default = [ ]; description = "Snippets to run first."; };
      supportsDryActivation = mkOption {
        type = types.bool;
        default = false;
        description = "Accepted; the stand-in's dry-activate runs no snippets.";
      };
    };
  };
  snippetType = types.coercedTo types.str (text: { inherit text; }) (types.submodule snippetModule);

  scripts = config.system.activationScripts;

  # Depth-first over deps, names in order: NixOS's textClosureMap.
  ordered =
    let
      visit = acc: name:
        if builtins.elem name acc.seen then acc
        else
          let
            deps = builtins.filter (d: scripts ? ${d}) scripts.${name}.deps;
            afterDeps = builtins.foldl' visit (acc // { seen = acc.seen ++ [ name ]; }) deps;
          in
          afterDeps // { order = afterDeps.order ++ [ name ]; };
    in
    (builtins.foldl' visit { seen = [ ]; order = [ ]; } (builtins.attrNames scripts)).order;

  wrapSnippet = name: ''
    #### Activation script snippet ${name}:
    _localstatus=0
    ${scripts.${name}.text}
    if (( _localstatus > 0 )); then
      printf "Activation script snippet '%s' failed (%s)\n" ${lib.escapeShellArg name} "$_localstatus"
    fi
  '';
in
{
  options.system.activationScripts = mkOption {
    type = types.attrsOf snippetType;
    default = { };
    description = "Snippets run when the system is activated.";
  };

  config.system.build.activate = pkgs.writeText "activate-template" ''
    #!${pkgs.runtimeShell}
    # Activates the system @out@: users, /etc, tmpfiles and the
    # activation snippets. Run by switch-to-configuration; units are
    # started and stopped there, not here.
    systemConfig=@out@
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    _status=0
    trap "_status=1 _localstatus=\$?" ERR
    umask 0022

    ${lib.concatMapStrings wrapSnippet ordered}
    exit $_status
  '';
}
