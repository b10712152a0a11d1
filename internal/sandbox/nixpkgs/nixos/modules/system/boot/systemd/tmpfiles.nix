# systemd.tmpfiles.rules, applied by activation (NixOS applies them through
# systemd-tmpfiles on switch). Supported types: d D e f f+ w L L+ z Z r R
# C; ages are ignored.
{ config, lib, pkgs, ... }:
let
  rules = pkgs.writeText "tmpfiles.conf" (lib.concatMapStrings (r: r + "\n") config.systemd.tmpfiles.rules);
in
{
  options.systemd.tmpfiles.rules = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ ];
    example = [ "d /var/lib/foo 0750 foo foo -" ];
    description = "Rules in tmpfiles.d(5) format.";
  };

  config.system.activationScripts.tmpfiles = {
    deps = [ "users" "etc" ];
    text = ''
      _tmpfiles_own() { # path mode user group [-R]
        if test -n "$2"; then chmod $5 "$2" "$1"; fi
        if test -n "$3" && test -n "$4"; then chown $5 "$3:$4" "$1"
        elif test -n "$3"; then chown $5 "$3" "$1"
        elif test -n "$4"; then chgrp $5 "$4" "$1"; fi
      }
      _tmpfiles_field() { # "-" means unset; quotes around paths are dropped
        local v=''${1#[\'\"]}; v=''${v%[\'\"]}
        if test "$v" = "-"; then v=""; fi
        printf '%s' "$v"
      }
      while read -r type path mode user group age arg; do
        case "$type" in ""|"#"*) continue ;; esac
        path=$(_tmpfiles_field "$path")
        mode=$(_tmpfiles_field "$mode"); mode=''${mode#[~:]}
        user=$(_tmpfiles_field "$user")
        group=$(_tmpfiles_field "$group")
        arg=$(_tmpfiles_field "$arg")
        case "$type" in
          d|D) mkdir -p "$path"; _tmpfiles_own "$path" "$mode" "$user" "$group" ;;
          e) if test -d "$path"; then _tmpfiles_own "$path" "$mode" "$user" "$group"; fi ;;
          f) if ! test -e "$path"; then printf '%s' "$arg" > "$path"; fi
             _tmpfiles_own "$path" "$mode" "$user" "$group" ;;
          f+) printf '%s' "$arg" > "$path"; _tmpfiles_own "$path" "$mode" "$user" "$group" ;;
          w|w+) if test -e "$path"; then printf '%s' "$arg" > "$path"; fi ;;
          L) if ! test -e "$path" && ! test -L "$path"; then ln -s "$arg" "$path"; fi ;;
          L+) if test "$(readlink "$path")" != "$arg"; then rm -rf "$path"; ln -s "$arg" "$path"; fi ;;
          z) if test -e "$path"; then _tmpfiles_own "$path" "$mode" "$user" "$group"; fi ;;
          Z) if test -e "$path"; then _tmpfiles_own "$path" "$mode" "$user" "$group" -R; fi ;;
          r) rm -f "$path" 2>/dev/null || rmdir "$path" 2>/dev/null || true ;;
          R) rm -rf "$path" ;;
          C) if ! test -e "$path"; then cp -r "$arg" "$path"; fi ;;
          *) echo "tmpfiles: rule type '$type' for $path is not supported by the stand-in" >&2 ;;
        esac
      done < ${rules}
    '';
  };
}
