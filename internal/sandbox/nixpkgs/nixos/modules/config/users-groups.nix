# users.users and users.groups. Activation creates missing groups and users
# with groupadd/useradd, adds users to their extra groups and creates
# homes; it never deletes or renames an account (as NixOS with
# mutableUsers, existing accounts keep their ids).
{ config, lib, pkgs, ... }:
let
  inherit (lib) concatMapStrings escapeShellArg mkDefault mkIf mkOption optionalString types;

  userModule = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The user's name."; };
      uid = mkOption { type = types.nullOr types.int; default = null; description = "The user's id; chosen by useradd when null."; };
      group = mkOption { type = types.str; default = ""; description = "The user's primary group."; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; description = "The user's supplementary groups."; };
      description = mkOption { type = types.str; default = ""; description = "The user's full name (GECOS)."; };
      home = mkOption { type = types.path; default = "/var/empty"; description = "The user's home directory."; };
      homeMode = mkOption { type = types.strMatching "[0-7]{1,5}"; default = "700"; description = "The mode of a created home."; };
      createHome = mkOption { type = types.bool; default = false; description = "Whether activation creates the home directory."; };
      isSystemUser = mkOption { type = types.bool; default = false; description = "Whether the user is a system user."; };
      isNormalUser = mkOption { type = types.bool; default = false; description = "Whether the user is a human user (home, shell, group users)."; };
      useDefaultShell = mkOption { type = types.bool; default = false; description = "Whether the user gets bash as login shell."; };
      shell = mkOption {
        type = types.nullOr (types.either types.package types.path);
        default = null;
        description = "The login shell; nologin when null.";
      };
      hashedPassword = mkOption { type = types.nullOr types.str; default = null; description = "Accepted, unused by the stand-in."; };
      packages = mkOption { type = types.listOf types.package; default = [ ]; description = "Accepted, unused by the stand-in."; };
      openssh.authorizedKeys.keys = mkOption { type = types.listOf types.str; default = [ ]; description = "Accepted, unused by the stand-in."; };
    };
    config = mkIf config.isNormalUser {
      group = mkDefault "users";
      home = mkDefault "/home/${config.name}";
      createHome = mkDefault true;
      useDefaultShell = mkDefault true;
    };
  };

  groupModule = { name, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; description = "The group's name."; };
      gid = mkOption { type = types.nullOr types.int; default = null; description = "The group's id; chosen by groupadd when null."; };
      members = mkOption { type = types.listOf types.str; default = [ ]; description = "Users added to the group."; };
    };
  };

  users = lib.attrValues config.users.users;
  groups = lib.attrValues config.users.groups;

  shellOf = u:
    if u.shell != null then
      (if lib.isDerivation u.shell then lib.getExe u.shell else toString u.shell)
    else if u.useDefaultShell then "/bin/bash"
    else "/usr/sbin/nologin";

  createGroup = g: ''
    if ! getent group ${escapeShellArg g.name} >/dev/null; then
      groupadd --system ${optionalString (g.gid != null) "--gid ${toString g.gid}"} ${escapeShellArg g.name}
    fi
  '';
  createUser = u: ''
    if ! getent passwd ${escapeShellArg u.name} >/dev/null; then
      useradd ${optionalString u.isSystemUser "--system"} ${optionalString (u.uid != null) "--uid ${toString u.uid}"} \
        --gid ${escapeShellArg u.group} --home-dir ${escapeShellArg u.home} --no-create-home \
        --shell ${escapeShellArg (shellOf u)} --comment ${escapeShellArg u.description} ${escapeShellArg u.name}
    fi
  '' + optionalString (u.extraGroups != [ ]) ''
    usermod --append --groups ${escapeShellArg (lib.concatStringsSep "," u.extraGroups)} ${escapeShellArg u.name}
  '' + optionalString u.createHome ''
    mkdir -p ${escapeShellArg u.home}
    chown ${escapeShellArg u.name}:${escapeShellArg u.group} ${escapeShellArg u.home}
    chmod ${u.homeMode} ${escapeShellArg u.home}
  '';
  addMembers = g: concatMapStrings (m: ''
    usermod --append --groups ${escapeShellArg g.name} ${escapeShellArg m}
  '') g.members;
in
{
  options.users = {
    users = mkOption {
      type = types.attrsOf (types.submodule userModule);
      default = { };
      description = "User accounts.";
    };
    groups = mkOption {
      type = types.attrsOf (types.submodule groupModule);
      default = { };
      description = "Groups.";
    };
    mutableUsers = mkOption {
      type = types.bool;
      default = true;
      description = "Accepted; the stand-in always keeps existing accounts.";
    };
  };

  config = {
    # As NixOS does, for the mistakes app modules make most.
    assertions = lib.concatMap (u: [
      {
        assertion = u.isSystemUser != u.isNormalUser;
        message = "Exactly one of users.users.${u.name}.isSystemUser and users.users.${u.name}.isNormalUser must be set.";
      }
      {
        assertion = u.group != "";
        message = "users.users.${u.name}.group is unset. This used to default to nogroup; set it to a group, e.g. users.groups.${u.name} = { }.";
      }
    ]) users;

    # NixOS names two snippets that modules order themselves after; here
    # groups are created along with the users, so `groups` only marks that.
    system.activationScripts.groups = {
      deps = [ "users" ];
      text = "";
    };
    system.activationScripts.users = ''
      # Groups first: users name them.
      ${concatMapStrings createGroup groups}
      ${concatMapStrings createUser users}
      ${concatMapStrings addMembers groups}
    '';
  };
}
