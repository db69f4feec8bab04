"""Config files of services that log in for real (TLS broker user, InfluxDB user), and launching them as
``python -m stationpipe <verb>`` processes whose output is kept for inspection."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stationpipe.testbed.services import Child
from tests.access.conftest import SecureBroker, SecureInflux

PROFILE = "water_five"


def mqtt_table(broker: SecureBroker, user: str, client_id: str, secret: str) -> str:
    """``[mqtt]`` over TLS as ``user``; ``secret`` is ``password_env = …`` or ``password_file = …``."""
    return (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nclient_id = "{client_id}"\nusername = "{user}"\n'
        f'ca_file = "{broker.pki.ca}"\n{secret}\n'
    )


def collector_toml(
    broker: SecureBroker, influx: SecureInflux, state: Path, mqtt_secret: str, influx_secret: str, tag: str
) -> str:
    """A collector logging in as ``collector`` on both the broker and InfluxDB (write-only there)."""
    return (
        f'kind = "collector"\ngroup = "acc-{tag}"\nstate_dir = "{state}"\n'
        + mqtt_table(broker, "collector", f"collector-{tag}", mqtt_secret)
        + f'[influx]\nurl = "{influx.influx.url}"\ndatabase = "{influx.influx.database}"\n'
        f'username = "{influx.writer[0]}"\n{influx_secret}\n[batch]\nmax_age = 0.2\n'
    )


def edge_toml(broker: SecureBroker, station: str, state: Path, modbus_port: int, mqtt_secret: str) -> str:
    """An edge agent of ``station`` logging in as the station, polling one Modbus TCP sonde."""
    return (
        f'kind = "edge"\nstation = "{station}"\nstate_dir = "{state}"\nstatus_interval = 1.0\n'
        + mqtt_table(broker, station, f"edge-{station}", mqtt_secret)
        + f'[[devices]]\nname = "sonde"\nprofile = "{PROFILE}"\ninterval = 0.5\ntimeout = 1.0\n'
        f'[devices.transport]\nhost = "127.0.0.1"\nport = {modbus_port}\nunit = 1\n'
    )


@dataclass
class Service(Child):
    """``python -m stationpipe <verb> --config FILE`` with its output in ``log_path``."""

    def run(self, verb: str, config: Path, ready_line: str | None, timeout: float = 30.0) -> None:
        """Start and wait until the log shows ``ready_line`` (``None``: do not wait)."""
        argv = [sys.executable, "-m", "stationpipe", verb, "--config", str(config), "--log-level", "DEBUG"]
        if ready_line is None:
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            return
        self.launch(argv, lambda: ready_line in self.log_text(), timeout)

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def cmdline(self) -> bytes:
        """The process' arguments as the kernel shows them to every user (``/proc/<pid>/cmdline``)."""
        assert self.proc is not None
        return Path(f"/proc/{self.proc.pid}/cmdline").read_bytes()

    def environ(self) -> bytes:
        """The process' environment as the kernel keeps it (``/proc/<pid>/environ``, owner only)."""
        assert self.proc is not None
        return Path(f"/proc/{self.proc.pid}/environ").read_bytes()

    def wait_exit(self, timeout: float) -> int:
        """The exit code, waiting at most ``timeout`` seconds for it."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} still running:\n{self.log_tail()}") from None
