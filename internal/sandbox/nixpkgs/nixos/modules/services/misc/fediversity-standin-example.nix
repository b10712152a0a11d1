# An example application module, the pattern the per-app modules
# (services.mastodon, services.matrix-synapse, ...) follow through
# ../../../lib/standin-app.nix: options with NixOS's names, a system user,
# and a service running the stand-in program in the app's role with its
# settings as a JSON file.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkIf mkOption types;
  cfg = config.services.fediversity-standin-example;
  settingsFormat = pkgs.formats.json { };
  configFile = settingsFormat.generate "fediversity-standin-example.json" cfg.settings;
in
{
  options.services.fediversity-standin-example = {
    enable = lib.mkEnableOption "the example stand-in application";
    package = lib.mkPackageOption pkgs "fediversity-standin" { };
    user = mkOption { type = types.str; default = "fediversity-example"; description = "The user the app runs as."; };
    settings = mkOption {
      type = settingsFormat.type;
      default = { };
      description = "The app's configuration, given to it as a JSON file.";
    };
  };

  config = mkIf cfg.enable {
    users.users.${cfg.user} = {
      isSystemUser = true;
      group = cfg.user;
    };
    users.groups.${cfg.user} = { };

    systemd.services.fediversity-standin-example = {
      description = "Example stand-in application";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      serviceConfig = {
        ExecStart = "${lib.getExe cfg.package} app --config ${configFile}";
        User = cfg.user;
        Group = cfg.user;
        StateDirectory = "fediversity-standin-example";
        WorkingDirectory = "/var/lib/fediversity-standin-example";
        Restart = "on-failure";
      };
    };
  };
}
