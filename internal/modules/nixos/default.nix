# The provider's NixOS modules: the desired state of one runtime (its
# operators and their applications) as options, turned into real NixOS
# configuration by the modules imported here.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  kinds = [ "mastodon" "pixelfed" "peertube" "matrix" "nextcloud" "immich" ];
in
{
  imports = [
    ./runtime.nix
    ./secrets.nix
    ./subdomains.nix
    ./mail.nix
    ./held-back.nix
    ./apps/mastodon.nix
    ./apps/pixelfed.nix
    ./apps/peertube.nix
    ./apps/matrix.nix
    ./apps/nextcloud.nix
    ./apps/immich.nix
  ];

  options.fediversity = {
    digest = mkOption {
      type = types.str;
      description = "Digest of the fragments this system was built from.";
    };
    runtime = mkOption {
      type = types.submodule {
        options = {
          name = mkOption { type = types.str; };
          kind = mkOption { type = types.enum [ "host" "container" ]; };
          containerName = mkOption { type = types.str; default = ""; description = "The NixOS container of a container runtime."; };
          hostName = mkOption { type = types.str; };
          listenAddresses = mkOption { type = types.listOf types.str; default = [ ]; description = "Addresses the web server listens on; empty means all."; };
          stateVersion = mkOption { type = types.str; default = "24.11"; };
          # How the provider builds this runtime; recorded here so an import
          # can read it back. The system itself does not use them.
          nixpkgs = mkOption { type = types.str; default = ""; };
          buildLocation = mkOption { type = types.enum [ "target" "local" ]; default = "target"; };
          keepGenerations = mkOption { type = types.int; default = 5; };
        };
      };
    };
    operators = mkOption {
      default = { };
      type = types.attrsOf (types.submodule {
        options = {
          name = mkOption { type = types.str; };
          domain = mkOption { type = types.str; };
          contactEmail = mkOption { type = types.str; };
        };
      });
    };
    applications = mkOption {
      default = { };
      type = types.attrsOf (types.submodule {
        options = {
          operator = mkOption { type = types.str; };
          kind = mkOption { type = types.enum kinds; };
          subdomain = mkOption { type = types.str; };
          version = mkOption { type = types.str; };
          settings = {
            registrationsOpen = mkOption { type = types.bool; default = false; };
            userLimit = mkOption { type = types.int; default = 0; description = "0 means no limit."; };
          };
          heldBack = mkOption {
            type = types.listOf types.str;
            default = [ ];
            description = "Units of the application kept from starting: a migration fills in its data first.";
          };
          stopped = mkOption {
            type = types.listOf types.str;
            default = [ ];
            description = "Units of the application kept stopped because the operator's configuration says so (running = false); the rest of it stays.";
          };
        };
      });
    };
  };

  config = {
    # The build runner compares this with the fragments on disk: equal
    # means the running system already includes them and nothing is built.
    environment.etc."fediversity/fragments.sha256".text = config.fediversity.digest;
  };
}
