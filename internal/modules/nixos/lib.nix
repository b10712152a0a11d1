# Helpers shared by the application modules.
{ lib, config }:
let
  fed = config.fediversity;
in
rec {
  # The applications of one kind on this runtime.
  ofKind = kind: lib.filterAttrs (_: a: a.kind == kind) fed.applications;

  # Real NixOS modules run one instance of each application per system, so
  # a host runtime carries at most one per kind; containers isolate more.
  single = kind: apps:
    let names = lib.attrNames apps; in
    if builtins.length names > 1
    then throw "runtime ${fed.runtime.name} would run ${kind} for several operators (${lib.concatStringsSep ", " names}); NixOS runs one ${kind} per system: give each operator its own container runtime"
    else apps.${builtins.head names};

  operatorOf = app: fed.operators.${app.operator};
  domainOf = app: "${app.subdomain}.${(operatorOf app).domain}";

  # Secrets are generated on the host at activation (secrets.nix) and live
  # outside the Nix store.
  secretPath = app: name: "/var/lib/fediversity-secrets/${app.operator}/${app.kind}/${name}";

  # fediversity.secrets entries for an app's secrets ([ { name, kind,
  # size ? 0 } ]), owned by the user its service runs as.
  secretsOf = app: owner: specs: lib.listToAttrs (map
    (s: {
      name = secretPath app s.name;
      value = { inherit owner; group = owner; inherit (s) kind; size = s.size or 0; };
    })
    specs);

  # The operator's settings as environment variables, for apps that keep
  # theirs in the database (the stand-in reads them; real apps ignore them).
  settingsEnv = app: {
    FEDIVERSITY_REGISTRATIONS_OPEN = lib.boolToString app.settings.registrationsOpen;
    FEDIVERSITY_USER_LIMIT = toString app.settings.userLimit;
  };

  # The application at the version the operator pinned. A real nixpkgs
  # offers one version per pin; a different one is an error, unless the
  # package can be overridden to it (the sandbox's stand-ins can).
  pinned = pkg: version:
    if pkg.version == version then pkg
    else if pkg ? overrideVersion then pkg.overrideVersion version
    else throw "the pinned nixpkgs provides ${pkg.pname or pkg.name} ${pkg.version}, not ${version}: pin a nixpkgs with ${version} or choose ${pkg.version}";
}
