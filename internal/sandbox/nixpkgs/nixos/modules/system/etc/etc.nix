# environment.etc. As in NixOS, the system holds an etc/ tree; activation
# points /etc/static at it and links each entry /etc/NAME -> /etc/static/NAME,
# so switching systems switches all entries at once. Entries with a mode
# other than "symlink" are copied with that mode and owner.
{ config, lib, pkgs, ... }:
let
  inherit (lib) concatMapStrings escapeShellArg mkDefault mkIf mkOption types;

  etcModule = { name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; description = "Whether this file is created."; };
      target = mkOption { type = types.str; default = name; description = "The path relative to /etc."; };
      text = mkOption { type = types.nullOr types.lines; default = null; description = "The file's content."; };
      source = mkOption { type = types.path; description = "The file (or directory) linked or copied to /etc/<target>."; };
      mode = mkOption {
        type = types.str;
        default = "symlink";
        description = "\"symlink\", or the mode of a copy (e.g. \"0440\").";
      };
      uid = mkOption { type = types.int; default = 0; description = "The owner of a copy, by id."; };
      gid = mkOption { type = types.int; default = 0; description = "The group of a copy, by id."; };
      user = mkOption { type = types.str; default = "+${toString config.uid}"; description = "The owner of a copy."; };
      group = mkOption { type = types.str; default = "+${toString config.gid}"; description = "The group of a copy."; };
    };
    config.source = mkIf (config.text != null)
      (mkDefault (pkgs.writeText "etc-${safeName name}" config.text));
  };

  # Store path names allow fewer characters than file names.
  safeName = name: lib.concatStrings (map (c: if builtins.match "[a-zA-Z0-9+._?=-]" c != null then c else "-")
    (lib.stringToCharacters name));

  entries = lib.filter (e: e.enable) (lib.attrValues config.environment.etc);
  copied = lib.filter (e: e.mode != "symlink") entries;

  etcTree = pkgs.runCommand "etc" { } ''
    mkdir -p "$out"
    ${concatMapStrings (e: ''
      mkdir -p "$(dirname "$out"/${escapeShellArg e.target})"
      ln -s ${escapeShellArg e.source} "$out"/${escapeShellArg e.target}
    '') entries}
  '';

  linkEntry = e: ''
    _etc_install_link ${escapeShellArg e.target}
  '';
  copyEntry = e: ''
    _etc_install_copy ${escapeShellArg e.target} ${escapeShellArg e.mode} ${escapeShellArg e.user} ${escapeShellArg e.group}
  '';
in
{
  options.environment.etc = mkOption {
    type = types.attrsOf (types.submodule etcModule);
    default = { };
    description = "Files in /etc.";
  };

  config = {
    system.build.etc = etcTree;

    system.activationScripts.etc = {
      deps = [ "users" "groups" ];
      text = ''
        _etc_install_link() {
          mkdir -p "$(dirname "/etc/$1")"
          if test -d "/etc/$1" && ! test -L "/etc/$1"; then
            echo "warning: not replacing the directory /etc/$1 by a link" >&2
            return 0
          fi
          ln -sfn "/etc/static/$1" "/etc/$1"
        }
        _etc_install_copy() {
          mkdir -p "$(dirname "/etc/$1")"
          cp -L "/etc/static/$1" "/etc/$1.tmp"
          chmod "$2" "/etc/$1.tmp"
          chown "$3:$4" "/etc/$1.tmp"
          mv -f "/etc/$1.tmp" "/etc/$1"
        }
        ln -sfn "$systemConfig/etc" /etc/.static.tmp
        mv -fT /etc/.static.tmp /etc/static
        ${concatMapStrings linkEntry (lib.filter (e: e.mode == "symlink") entries)}
        ${concatMapStrings copyEntry copied}
        # Copies of the previous system that this one no longer has.
        if test -f /etc/.fediversity-copied; then
          while IFS= read -r old; do
            test -n "$old" || continue
            grep -qxF -- "$old" <<'EOF_COPIED' || rm -f "/etc/$old"
        ${concatMapStrings (e: e.target + "\n") copied}EOF_COPIED
          done < /etc/.fediversity-copied
        fi
        cat > /etc/.fediversity-copied <<'EOF_COPIED'
        ${concatMapStrings (e: e.target + "\n") copied}EOF_COPIED
        # Links of the previous system that lead nowhere now (also in
        # directories mounted into /etc, such as a sandbox host's
        # /etc/fediversity).
        find /etc -path /etc/static -prune -o -type l -lname '/etc/static/*' -print |
          while IFS= read -r link; do test -e "$link" || rm -f "$link"; done
      '';
    };
  };
}
