# Stand-ins for the packages of the applications, the mail server and the
# web server: named and versioned as nixpkgs' own, with bin/<pname> being
# the stand-in program (whose role the NixOS modules choose). Application
# versions come from the provider's catalogue (catalogue.json, generated;
# the first version of a kind is the default); overrideVersion gives the
# same program at another version, so a system can pin any of them.
{ lib, runCommand, fediversity-standin, matrix-synapse-unwrapped }:
let
  catalogue = lib.importJSON ./catalogue.json;

  standinPackage = pname: version:
    runCommand "${pname}-${version}"
      {
        meta.mainProgram = pname;
        passthru = {
          inherit pname version;
          overrideVersion = standinPackage pname;
        };
      }
      ''
        mkdir -p "$out/bin"
        ln -s ${lib.getExe fediversity-standin} "$out/bin/${pname}"
      '';

  defaultVersion = kind: builtins.head catalogue.${kind}.versions;

  # nixpkgs has a Nextcloud package per major version (nextcloud31, ...).
  nextcloud = major:
    let versions = builtins.filter (lib.hasPrefix "${major}.") catalogue.nextcloud.versions; in
    if versions == [ ] then throw "pkgs.nextcloud${major}: the catalogue supports no Nextcloud ${major}"
    else standinPackage "nextcloud" (builtins.head versions);

  # pkgs.matrix-synapse wraps matrix-synapse-unwrapped, and its override
  # adds extras and plugins (services.matrix-synapse calls it); an overlay
  # pins a version through matrix-synapse-unwrapped, as in nixpkgs.
  wrapSynapse = unwrapped: unwrapped // { override = _: wrapSynapse unwrapped; };
in
{
  mastodon = standinPackage "mastodon" (defaultVersion "mastodon");
  pixelfed = standinPackage "pixelfed" (defaultVersion "pixelfed");
  peertube = standinPackage "peertube" (defaultVersion "peertube");
  matrix-synapse-unwrapped = standinPackage "matrix-synapse" (defaultVersion "matrix");
  matrix-synapse = wrapSynapse matrix-synapse-unwrapped;
  nextcloud30 = nextcloud "30";
  nextcloud31 = nextcloud "31";
  immich = standinPackage "immich" (defaultVersion "immich");
  # Not in the catalogue: the versions a current nixpkgs has.
  maddy = standinPackage "maddy" "0.8.1";
  nginx = standinPackage "nginx" "1.28.0";
}
