# Packages that the machine (Debian) already provides: their bin/ is a
# symlink to the machine's directory. Impure, which is fine with the Nix
# sandbox off; a build on a machine that lacks the directory fails saying so.
{ lib, runCommand }:
let
  hostPackage = { pname, version ? "host", bin, mainProgram ? pname, extra ? { } }:
    runCommand "${pname}-${version}" { meta.mainProgram = mainProgram; } ''
      if ! test -d ${lib.escapeShellArg bin}; then
        echo "stand-in package ${pname}: ${bin} does not exist on this machine" >&2
        exit 1
      fi
      mkdir -p "$out"
      ln -s ${lib.escapeShellArg bin} "$out/bin"
    '' // { inherit pname version; } // extra;

  fromUsrBin = pname: hostPackage { inherit pname; bin = "/usr/bin"; };
in
rec {
  # Debian's PostgreSQL 15 server; psqlSchema names its data directory as in
  # NixOS (/var/lib/postgresql/15).
  postgresql_15 = hostPackage {
    pname = "postgresql";
    version = "15";
    bin = "/usr/lib/postgresql/15/bin";
    mainProgram = "postgres";
    extra.psqlSchema = "15";
  };
  postgresql = postgresql_15;

  bash = fromUsrBin "bash";
  bashInteractive = bash;
  coreutils = fromUsrBin "coreutils";
  findutils = fromUsrBin "findutils";
  gnugrep = fromUsrBin "gnugrep";
  gnused = fromUsrBin "gnused";
  gawk = fromUsrBin "gawk";
  gnutar = fromUsrBin "gnutar";
  gzip = fromUsrBin "gzip";
  util-linux = fromUsrBin "util-linux";
  openssl = fromUsrBin "openssl";
  curl = fromUsrBin "curl";
  shadow = hostPackage { pname = "shadow"; bin = "/usr/sbin"; mainProgram = "useradd"; };
}
