# Reads a runtime's fragments: runtime.json, operator-*.json and
# application-*.json. The digest covers every file's name and bytes in name
# order, computed exactly as the provider's build runner does on the host,
# so the runner can tell whether the running system already includes the
# fragments on disk.
{ dir }:
let
  inherit (builtins) attrNames filter readDir readFile fromJSON listToAttrs sort lessThan match hashString concatStringsSep;
  names = sort lessThan (filter (n: match ".*\\.json" n != null) (attrNames (readDir dir)));
  read = name: fromJSON (readFile "${dir}/${name}");
  withPrefix = prefix: filter (n: match "${prefix}-.*" n != null) names;
  keyed = key: files: listToAttrs (map (f: let v = read f; in { name = key v; value = v; }) files);
in
{
  # Each fragment as read, so the running system carries a copy of what it
  # was built from: a refresh compares it with the fragments on disk.
  files = listToAttrs (map (n: { name = n; value = readFile "${dir}/${n}"; }) names);
  config = {
    runtime = read "runtime.json";
    operators = keyed (o: o.name) (withPrefix "operator");
    applications = keyed (a: "${a.operator}-${a.kind}") (withPrefix "application");
    digest = hashString "sha256" (concatStringsSep "" (map (n: n + "\n" + readFile "${dir}/${n}" + "\n") names));
  };
}
