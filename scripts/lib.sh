# Shared by scripts/demo, scripts/test and scripts/check: make this checkout ready to run.
# - a Python >= 3.11 virtual environment in .venv with the project and its dev extras;
# - the Debian packages mosquitto, influxdb and the other programs the tests run (apt-get as root, sudo when
#   available, else one clear line): see ensure_debian_packages.
# The services themselves are started by the Python harness (testbed/stationpipe/testbed/services.py) on free loopback ports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
say() { printf '\033[1m[stationpipe]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[stationpipe] %s\033[0m\n' "$*" >&2; exit 1; }

find_python() {
  for py in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 && "$py" -c "import sys; sys.exit(sys.version_info < (3, 11))" 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local py stamp="$VENV/.stationpipe-installed"
  if [ ! -x "$VENV/bin/python" ]; then
    py="$(find_python)" || die "Python >= 3.11 is needed: install it (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11"
    say "creating $VENV with $py"
    "$py" -m venv "$VENV" || die "could not create a virtual environment: install python3-venv (apt-get install python3-venv)"
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing stationpipe and its dev tools into .venv (pip)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev,grafana]" \
      || die "pip could not install the project: see the messages above (is PyPI reachable?)"
    touch "$stamp"
  fi
}

have_binary() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

ensure_debian_packages() {
  local missing=()
  have_binary mosquitto || missing+=(mosquitto)
  have_binary influxd || missing+=(influxdb)
  have_binary prometheus-alertmanager || missing+=(prometheus-alertmanager)  # rules engine delivery tests
  have_binary victoria-metrics || missing+=(victoria-metrics)                # a real /api/v2/write server
  have_binary mosquitto_pub || missing+=(mosquitto-clients)               # the ingest benchmark's publishers
  have_binary openssl || missing+=(openssl)                                  # TLS tests make a throw-away CA
  have_binary faketime || missing+=(faketime)                                # fault suite: a station clock ahead
  have_binary chromium || missing+=(chromium)                                # the daily report is rendered in it
  have_binary chromedriver || missing+=(chromium-driver)                     # the operators' page is clicked in it
  [ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)         # Chinese text in screenshots
  have_binary exim4 || missing+=(exim4-daemon-light)                         # the e-mail channel's real SMTP server
  have_binary docker-compose || missing+=(docker-compose)                    # `docker-compose config` of deploy/compose.yaml
  have_binary systemd-analyze || missing+=(systemd)                          # `systemd-analyze verify` of deploy/systemd/
  [ "${#missing[@]}" -eq 0 ] && return 0
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  if [ "$(id -u)" -eq 0 ]; then :
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then apt=(sudo env DEBIAN_FRONTEND=noninteractive apt-get)
  else die "missing Debian packages: ${missing[*]} — ask an administrator to run: sudo apt-get install ${missing[*]}"
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get here: install them with your package manager"
  say "installing Debian packages: ${missing[*]}"
  "${apt[@]}" update -qq >/dev/null || die "apt-get update failed: check the network or the apt sources"
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed: see the messages above"
}

setup() {
  ensure_debian_packages
  ensure_venv
}
