"""Process harness shared by the tests, the demo and the benchmarks.

Starts real Mosquitto and InfluxDB 1.x (Debian packages) as child processes on free loopback ports,
with their data in a temporary folder; waits for readiness by polling the real service with a
deadline (never a fixed sleep); stops them on exit even when the caller fails.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])


class HarnessError(RuntimeError):
    """A test service could not be found or started; the message says what to do."""


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000
_GIVEN: set[int] = set()  # never hand out a port twice: the first taker may not have bound it yet


def _kernel_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now, below the kernel's ephemeral range: a port the kernel picks
    for us may be reused by any outgoing connect() before our server binds it, one below the range
    cannot. Never the same port twice in one process."""
    try:
        first = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    if first - _LOWEST < 1000:  # an unusual kernel setting: no room below the ephemeral range
        return _kernel_port(host)
    while True:
        port = _LOWEST + secrets.randbelow(first - _LOWEST)
        if port in _GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port


def find_binary(name: str, package: str) -> str:
    """Absolute path of a Debian-packaged binary, or a ``HarnessError`` saying what to install."""
    found = shutil.which(name, path=_SEARCH)
    if found is None:
        raise HarnessError(
            f"{name} not found: install the Debian package '{package}' (scripts/setup does it)"
        )
    return found


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen[bytes]
) -> None:
    """Poll ``check`` until it is true; fail early if ``proc`` exits, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited with code {proc.returncode} while starting")
        if check():
            return
        time.sleep(delay)  # polling the real service, bounded by the deadline
        delay = min(delay * 2, 0.2)
    raise HarnessError(f"{what} not ready after {timeout:.0f} s")


def tcp_open(host: str, port: int) -> bool:
    """True when ``host:port`` accepts a TCP connection now (within 0.2 s)."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Child:
    """One child process with its log file; start/stop/kill keep the same port and data folder."""

    name: str
    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where the child's stdout and stderr go."""
        return self.workdir / f"{self.name}.log"

    def launch(self, argv: list[str], ready: Callable[[], bool], timeout: float) -> None:
        """Start ``argv`` (output to ``log_path``), wait until ``ready()``; errors carry the log tail."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
        try:
            wait_until(ready, timeout=timeout, what=self.name, proc=self.proc)
        except HarnessError as exc:
            raise HarnessError(f"{exc}\n{self.log_tail()}") from None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; safe to call twice."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: a crash, for fault tests."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Mosquitto(Child):
    """A Mosquitto broker on a free loopback port, persistence in the work folder.

    ``listener_conf`` lines go under the listener (TLS files, ``require_certificate``); ``conf`` lines are
    global (``password_file``, ``acl_file``). Anonymous access is allowed unless ``anonymous`` is False.
    """

    listener_conf: str = ""
    conf: str = ""
    anonymous: bool = True

    def start(self, timeout: float = 15.0) -> None:
        """Start (or restart on the same port) and wait until it accepts connections."""
        binary = find_binary("mosquitto", "mosquitto")
        conf = self.workdir / "mosquitto.conf"
        (self.workdir / "mosquitto-data").mkdir(exist_ok=True)
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            f"{self.listener_conf}"
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            f"{self.conf}"
            "persistence true\n"
            f"persistence_location {self.workdir / 'mosquitto-data'}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 1000\n"
            f"user {getpass.getuser()}\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        self.launch([binary, "-c", str(conf)], lambda: tcp_open(self.host, self.port), timeout)


@dataclass
class InfluxDB(Child):
    """InfluxDB 1.x (v1 HTTP API) on free loopback ports, data in the work folder, one database created.

    With ``auth`` the HTTP API requires credentials (``auth-enabled = true``): the ``admin`` user (all
    privileges) is created at start-up, and ``query`` authenticates as it.
    """

    database: str = "stationpipe"
    auth: bool = False
    admin: tuple[str, str] = field(default_factory=lambda: ("admin", secrets.token_urlsafe(12)))

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def _config(self) -> Path:
        data = self.workdir / "influxdb"
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            "reporting-disabled = true\n"
            f'bind-address = "{self.host}:{free_port()}"\n'
            f'[meta]\n  dir = "{data}/meta"\n  logging-enabled = false\n'
            f'[data]\n  dir = "{data}/data"\n  wal-dir = "{data}/wal"\n  query-log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n"
            f'[http]\n  bind-address = "{self.host}:{self.port}"\n  log-enabled = false\n'
            "  max-body-size = 0\n"
            f"  auth-enabled = {'true' if self.auth else 'false'}\n"
        )
        return conf

    def _ping(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False

    def start(self, timeout: float = 60.0) -> None:
        """Start (or restart, keeping data) and wait for ``/ping``; create the database."""
        binary = find_binary("influxd", "influxdb")
        self.launch([binary, "run", "-config", str(self._config())], self._ping, timeout)
        if self.auth:  # InfluxDB 1.x lets the first admin be created before any user exists
            user, password = self.admin
            self.query(f"CREATE USER \"{user}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES")
        self.query(f'CREATE DATABASE "{self.database}"')

    def query(self, q: str) -> list[dict[str, Any]]:
        """Run InfluxQL; return the ``series`` of the first statement (empty list when none)."""
        resp = httpx.post(
            f"{self.url}/query",
            params={"q": q, "db": self.database, "epoch": "ns"},
            auth=self.admin if self.auth else None,
            timeout=10,
        )
        resp.raise_for_status()
        result = resp.json()["results"][0]
        if "error" in result:
            raise HarnessError(f"InfluxQL error: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series


@dataclass
class Services:
    """Mosquitto and InfluxDB together, in one temporary folder, stopped on exit."""

    workdir: Path
    mosquitto: Mosquitto = field(init=False)
    influx: InfluxDB = field(init=False)

    def __post_init__(self) -> None:
        self.mosquitto = Mosquitto("mosquitto", self.workdir)
        self.influx = InfluxDB("influxdb", self.workdir)

    def __enter__(self) -> Self:
        try:
            self.mosquitto.start()
            self.influx.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop both; never raises for an already-dead child."""
        for child in (self.mosquitto, self.influx):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                child.stop()


@contextlib.contextmanager
def running_services(keep: bool = False) -> Iterator[Services]:  # noqa: FBT001, FBT002
    """Start both services in a fresh temporary folder (removed afterwards unless ``keep``)."""
    workdir = Path(tempfile.mkdtemp(prefix="stationpipe-"))
    try:
        with Services(workdir) as services:
            yield services
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
