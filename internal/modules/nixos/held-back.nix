# Units that an application's fragment holds back are in the system (its
# user, database and secrets exist) but are not started: a migration
# restores the application's data and secrets first, and releases them by
# deploying the fragment without heldBack; an application declared with
# running = false keeps its units in `stopped` for as long as it says so.
{ config, lib, ... }:
let
  heldBack = lib.concatMap (app: app.heldBack ++ app.stopped) (lib.attrValues config.fediversity.applications);
in
{
  config.systemd.services = lib.genAttrs heldBack (_: { wantedBy = lib.mkForce [ ]; });
}
