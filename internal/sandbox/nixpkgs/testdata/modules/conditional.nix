# Its definitions depend on the configuration they are part of: the module
# system must learn what is defined here without evaluating the condition.
{ config, lib, ... }:
{
  config = lib.mkIf config.test.enable {
    test.list = [ "enabled" ];
    test.users.conditional = { };
    test.derived = "derived from ${config.test.name}";
  };
}
