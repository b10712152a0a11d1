# The same file imported twice (here and by the test) is one module.
{ imports = [ ./list-x.nix ./list-x.nix ]; }
