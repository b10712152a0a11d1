# Secrets declared by the application modules are generated on the host
# during activation, after users and groups exist and before services
# start. Each file gets its owner and mode before its first byte; existing
# secrets are never rewritten (a migrated operator keeps the ones it came
# with). The generator is the provider's own script, shipped beside these
# modules; secret values never enter the Nix store.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  secrets = config.fediversity.secrets;
  args = lib.concatMapStringsSep " " (path:
    let s = secrets.${path}; in
    lib.concatMapStringsSep " " lib.escapeShellArg [ path s.owner s.group s.mode s.kind (toString s.size) ]
  ) (lib.attrNames secrets);
in
{
  options.fediversity.secrets = mkOption {
    default = { };
    description = "Secret files to create on the host, by path.";
    type = types.attrsOf (types.submodule {
      options = {
        owner = mkOption { type = types.str; };
        group = mkOption { type = types.str; };
        mode = mkOption { type = types.str; default = "0400"; };
        kind = mkOption { type = types.enum [ "random-base64" "synapse-signing-key" "laravel-app-key" "rsa-private-key" ]; };
        size = mkOption { type = types.int; default = 0; };
      };
    });
  };

  config = lib.mkIf (secrets != { }) {
    system.activationScripts.fediversity-secrets = {
      deps = [ "users" "groups" ];
      text = "${pkgs.runtimeShell} ${./ensure-secrets.sh} ${args} >/dev/null";
    };
  };
}
