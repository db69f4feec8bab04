#!/bin/sh
# Install the stationpipe edge agent of one station on Debian (12 "bookworm" or later) as a systemd service.
#
#   sudo deploy/systemd/install-edge.sh --station zj-qtj-01 --config edge.toml [--source DIR|WHEEL]
#                                       [--password-file mqtt.secret]
#
# Installs python3 (3.11+) and a virtual environment in /opt/stationpipe, a system user "stationpipe"
# (member of dialout for RS-485/serial adapters), /etc/stationpipe/edge-<id>.toml, and enables
# stationpipe-edge@<id>. Safe to run again (upgrades the package, keeps the config unless --config).
set -eu

PREFIX=/opt/stationpipe
ETC=/etc/stationpipe
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
SOURCE=$(CDPATH= cd -- "$HERE/../.." && pwd)
STATION= CONFIG= SECRET=

die() { echo "install-edge: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --station) STATION=$2; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    --password-file) SECRET=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[ -n "$STATION" ] || die "--station ID is required"
echo "$STATION" | grep -Eq '^[A-Za-z0-9_.-]{1,128}$' || die "station id '$STATION' has characters other than A-Z a-z 0-9 _ . -"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv ca-certificates >/dev/null

getent group stationpipe >/dev/null || groupadd --system stationpipe
id stationpipe >/dev/null 2>&1 || useradd --system --gid stationpipe --groups dialout \
  --home-dir /var/lib/stationpipe --shell /usr/sbin/nologin stationpipe

[ -x "$PREFIX/bin/python" ] || python3 -m venv "$PREFIX"
"$PREFIX/bin/pip" install --quiet --upgrade pip
"$PREFIX/bin/pip" install --quiet --upgrade "$SOURCE"

install -d -m 0750 -o root -g stationpipe "$ETC"
if [ -n "$CONFIG" ]; then
  install -m 0640 -o root -g stationpipe "$CONFIG" "$ETC/edge-$STATION.toml"
elif [ ! -f "$ETC/edge-$STATION.toml" ]; then
  die "no $ETC/edge-$STATION.toml yet: give --config (start from deploy/config/edge.example.toml)"
fi
if [ -n "$SECRET" ]; then
  install -m 0640 -o root -g stationpipe "$SECRET" "$ETC/edge-$STATION.mqtt.secret"
fi
"$PREFIX/bin/stationpipe" check "$ETC/edge-$STATION.toml"

install -m 0644 "$HERE/stationpipe-edge@.service" /etc/systemd/system/stationpipe-edge@.service
systemctl daemon-reload
systemctl enable "stationpipe-edge@$STATION"
systemctl restart "stationpipe-edge@$STATION"
echo "installed: systemctl status stationpipe-edge@$STATION ; journalctl -u stationpipe-edge@$STATION -f"
