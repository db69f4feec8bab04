"""The secured deployment the access tests run against, built the way an operator builds it:

- Mosquitto on a TLS listener (throw-away CA), no anonymous access, the password and ACL files written by
  the real ``stationpipe deploy acl`` from a registry, plus one test-only ``audit`` user that may read
  everything (the privileged subscriber that shows what got through);
- InfluxDB 1.x with ``auth-enabled = true``, an admin, a write-only ``collector`` user and a read-only
  ``grafana`` user.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stationpipe.testbed.services import InfluxDB, Mosquitto, find_binary
from stationpipe.testbed.tls import Pki, make_pki
from tests.access.clients import Client

REGISTRY = """kind = "registry"
[[stations]]
id = "acc-a"
name = "甲断面"
kind = "water"
target_class = "III"
water_body = "river"
lat = 30.0
lon = 120.0
[[stations]]
id = "acc-b"
name = "乙站"
kind = "air"
lat = 30.1
lon = 120.1
"""
STATIONS = ("acc-a", "acc-b")
AUDIT = "audit"


@dataclass
class SecureBroker:
    """The TLS broker, its CA, and the files ``stationpipe deploy acl`` wrote."""

    broker: Mosquitto
    pki: Pki
    auth: Path
    registry: Path
    audit_password: str

    @property
    def port(self) -> int:
        """The TLS listener."""
        return self.broker.port

    def secret_file(self, user: str) -> Path:
        """Where ``deploy acl`` keeps a user's password (0600)."""
        return self.auth / "secrets" / f"{user}.secret"

    def secret(self, user: str) -> str:
        """A user's password."""
        if user == AUDIT:
            return self.audit_password
        return self.secret_file(user).read_text(encoding="utf-8").strip()

    def client(
        self, user: str | None, password: str | None = None, *, v5: bool = True, client_id: str = ""
    ) -> Client:
        """A client of ``user`` (its own password unless given) over TLS; not connected yet."""
        if password is None and user is not None:
            password = self.secret(user)
        return Client(user, password, self.port, self.pki.ca, client_id=client_id, v5=v5)


def deploy_acl(registry: Path, out: Path) -> str:
    """Run the real ``stationpipe deploy acl``; return its output."""
    argv = [sys.executable, "-m", "stationpipe", "deploy", "acl", "--registry", str(registry)]
    argv += ["--out", str(out)]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _add_audit_user(auth: Path) -> str:
    """A test-only user that may read every topic: the privileged subscriber."""
    password = secrets.token_urlsafe(16)
    subprocess.run(
        [find_binary("mosquitto_passwd", "mosquitto"), "-b", str(auth / "passwd"), AUDIT, password],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with (auth / "acl").open("a", encoding="utf-8") as acl:
        acl.write(f"\nuser {AUDIT}\ntopic read #\n")
    return password


@pytest.fixture(scope="session")
def secure_broker() -> Iterator[SecureBroker]:
    """Mosquitto with TLS, per-user passwords and the generated ACLs (see module docstring)."""
    with tempfile.TemporaryDirectory(prefix="stationpipe-access-") as tmp:
        work = Path(tmp)
        registry = work / "registry.toml"
        registry.write_text(REGISTRY, encoding="utf-8")
        deploy_acl(registry, work / "auth")
        audit = _add_audit_user(work / "auth")
        pki = make_pki(work / "pki")
        broker = Mosquitto(
            "mosquitto-secure",
            work,
            anonymous=False,
            listener_conf=f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n",
            conf=f"password_file {work / 'auth/passwd'}\nacl_file {work / 'auth/acl'}\n",
        )
        broker.start()
        try:
            yield SecureBroker(broker, pki, work / "auth", registry, audit)
        finally:
            broker.stop()


@dataclass
class SecureInflux:
    """InfluxDB with authentication on and one account per role."""

    influx: InfluxDB
    writer: tuple[str, str]
    reader: tuple[str, str]


@pytest.fixture(scope="session")
def secure_influx() -> Iterator[SecureInflux]:
    """InfluxDB 1.x, ``auth-enabled = true``: admin, ``collector`` (WRITE only), ``grafana`` (READ only)."""
    with tempfile.TemporaryDirectory(prefix="stationpipe-influx-auth-") as tmp:
        influx = InfluxDB("influxdb-auth", Path(tmp), auth=True)
        influx.start()
        try:
            writer = ("collector", secrets.token_urlsafe(16))
            reader = ("grafana", secrets.token_urlsafe(16))
            for (user, password), right in ((writer, "WRITE"), (reader, "READ")):
                influx.query(f"CREATE USER \"{user}\" WITH PASSWORD '{password}'")
                influx.query(f'GRANT {right} ON "{influx.database}" TO "{user}"')
            yield SecureInflux(influx, writer, reader)
        finally:
            influx.stop()
