# The stand-in program (one binary, a role per application kind, plus the
# supervisor and switch-to-configuration). The sandbox installs it on each
# host at /etc/fediversity-sandbox/bin/fediversity-standin; a NIX_PATH
# entry fediversity-standin=/path/to/binary points elsewhere (tests). It
# is copied into the store by content, so a new binary is a new package.
{ lib, runCommand }:
let
  fromNixPath = builtins.filter (e: e.prefix == "fediversity-standin") builtins.nixPath;
  location =
    if fromNixPath != [ ] then (builtins.head fromNixPath).path
    else "/etc/fediversity-sandbox/bin/fediversity-standin";
  binary =
    if builtins.pathExists location
    then builtins.path { path = location; name = "fediversity-standin-binary"; }
    else throw "pkgs.fediversity-standin: the stand-in program is not at ${location} (install it there, or set NIX_PATH fediversity-standin=/path/to/binary).";
in
runCommand "fediversity-standin" { meta.mainProgram = "fediversity-standin"; } ''
  mkdir -p "$out/bin"
  ln -s ${binary} "$out/bin/fediversity-standin"
''
