"""A whole simulated pipeline as real processes: ``stationpipe sim``, ``edge`` (one per station) and
``collector``, wired to the harness's Mosquitto and InfluxDB. Shared by the demo and the tests."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from testbed.services import Services, free_port

PROFILES = Path(__file__).resolve().parent.parent / "simulators" / "profiles"


@dataclass(frozen=True)
class SimStation:
    """A simulated water station: a sonde (unit 1) and a nutrient analyser (unit 2) on one port."""

    id: str
    water_class: str
    seed: int
    port: int = field(default_factory=free_port)


def sim_toml(stations: list[SimStation]) -> str:
    """The simulator's config for these stations."""
    out = ['kind = "sim"\n']
    for st in stations:
        for unit, profile in ((1, "water_five"), (2, "water_nutrients")):
            out.append(
                f'[[devices]]\nname = "{st.id}-{profile}"\nstation = "{st.id}"\n'
                f'profile = "{PROFILES / profile}.toml"\nport = {st.port}\nunit = {unit}\n'
                f'seed = {st.seed * 10 + unit}\nwater_class = "{st.water_class}"\n'
            )
    return "\n".join(out)


def edge_toml(st: SimStation, mqtt_port: int, state_dir: Path, interval: float) -> str:
    """The edge agent's config for one station."""
    head = (
        f'kind = "edge"\nstation = "{st.id}"\nstate_dir = "{state_dir}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "edge-{st.id}"\n'
    )
    devices = [
        f'[[devices]]\nname = "{name}"\nprofile = "{PROFILES / profile}.toml"\ninterval = {interval}\n'
        f'timeout = 1.0\n[devices.transport]\nhost = "127.0.0.1"\nport = {st.port}\nunit = {unit}\n'
        for unit, name, profile in ((1, "sonde", "water_five"), (2, "nutrients", "water_nutrients"))
    ]
    return head + "\n".join(devices)


def collector_toml(mqtt_port: int, influx_url: str, database: str, max_age: float = 0.5) -> str:
    """The collector's config, with its own client id and group: a persistent session left on a shared
    broker by one pipeline must never take messages meant for the next one."""
    token = secrets.token_hex(4)
    return (
        f'kind = "collector"\ngroup = "collectors-{token}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "collector-{token}"\n'
        f'[influx]\nurl = "{influx_url}"\ndatabase = "{database}"\n[batch]\nmax_age = {max_age}\n'
    )


@dataclass
class Pipeline:
    """Processes of one simulated deployment; stopped (SIGTERM, then SIGKILL) on exit."""

    services: Services
    stations: list[SimStation]
    interval: float = 2.0
    journal: Path | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        """The harness's temporary folder."""
        return self.services.workdir

    def _write(self, name: str, text: str) -> Path:
        path = self.workdir / f"{name}.toml"
        path.write_text(text)
        return path

    def start(self, name: str, verb: str, config: Path, *extra: str) -> None:
        """Start ``stationpipe VERB --config CONFIG`` as a child process logging to ``<name>.log``."""
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "station", verb, "--config", str(config), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def __enter__(self) -> Self:
        svc = self.services
        extra = ["--journal", str(self.journal)] if self.journal else []
        self.start("sim", "sim", self._write("sim", sim_toml(self.stations)), *extra)
        self.start(
            "collector",
            "collector",
            self._write("collector", collector_toml(svc.mosquitto.port, svc.influx.url, svc.influx.database)),
        )
        for st in self.stations:
            cfg = edge_toml(st, svc.mosquitto.port, self.workdir / f"state-{st.id}", self.interval)
            self.start(f"edge-{st.id}", "edge", self._write(f"edge-{st.id}", cfg))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> dict[str, int | None]:
        """Stop every process; return their exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        return codes

    def log(self, name: str) -> str:
        """A process's log so far."""
        with contextlib.suppress(OSError):
            return (self.workdir / f"{name}.log").read_text(errors="replace")
        return ""
