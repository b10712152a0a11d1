# environment.systemPackages, linked into the system's sw/bin. Packages
# whose bin/ is the machine's own directory (host tools) are on PATH
# already and are left out. As in NixOS, every system has systemctl and
# nixos-container (here the stand-in program's roles).
{ config, lib, pkgs, ... }:
{
  options = {
    environment.systemPackages = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
      description = "Packages whose programs the system offers in /run/current-system/sw/bin.";
    };
  };

  config.environment.systemPackages = [ pkgs.systemd pkgs.nixos-container ];

  config.system.build.path = pkgs.runCommand "system-path" { } ''
    mkdir -p "$out/bin"
    for p in ${lib.escapeShellArgs config.environment.systemPackages}; do
      if test -d "$p/bin" && ! test -L "$p/bin"; then
        for f in "$p"/bin/*; do
          test -e "$out/bin/''${f##*/}" || ln -s "$f" "$out/bin/"
        done
      fi
    done
  '';
}
