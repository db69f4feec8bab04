#!/bin/sh
# The simulated fleet of the compose stack.
#   fleet.sh init   write the fleet (registry, simulator and edge configs) and the broker's users/ACLs
#   fleet.sh run    serve the simulated instruments and run one edge agent per station
# FLEET_DIR and AUTH_DIR move the two volumes' folders (tests/unit/test_deploy_compose.py runs `init` in a
# temporary folder and checks what it wrote).
set -eu
FLEET=${FLEET_DIR:-/fleet}
AUTH=${AUTH_DIR:-/auth}
case "${1:-run}" in
init)
  if [ ! -f "$FLEET/registry.toml" ]; then
    stationpipe sim --fleet "${FLEET_SIZE:-24}" --seed "${FLEET_SEED:-1}" --out "$FLEET" \
      --mqtt-host mosquitto --mqtt-port 1883 --interval "${FLEET_INTERVAL:-10}" --write-only
  fi
  stationpipe deploy acl --registry "$FLEET/registry.toml" --out "$AUTH"
  # each edge agent logs in as its station, with the password written by `deploy acl`
  for cfg in "$FLEET"/edge/*.toml; do
    id=$(sed -n 's/^station = "\(.*\)"$/\1/p' "$cfg")
    grep -q '^username = ' "$cfg" || sed -i "/^\[mqtt\]/a username = \"$id\"\npassword_file = \"$AUTH/secrets/$id.secret\"" "$cfg"
  done
  if [ "$(id -u)" -eq 0 ]; then                   # in compose, always (fleet-init runs as 0:0)
    chown 1883:1883 "$AUTH/passwd" "$AUTH/acl"      # the mosquitto image's user reads these two
    chown -R 10001:10001 "$AUTH/secrets" "$FLEET"    # the stationpipe image's user (services, telegraf)
  fi
  ;;
run)
  stationpipe sim --config "$FLEET/sim.toml" &
  for cfg in "$FLEET"/edge/*.toml; do
    stationpipe edge --config "$cfg" &
  done
  wait
  ;;
*)
  echo "usage: fleet.sh init|run" >&2
  exit 2
  ;;
esac
