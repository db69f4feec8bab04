"""A whole simulated pipeline as real processes: ``stationpipe sim``, ``edge`` (one per station),
``collector`` and, when given rules, ``rules`` delivering to a local webhook receiver, wired to the
harness's Mosquitto and InfluxDB. Shared by the demo, the fault suite and the tests."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from stationpipe.testbed.services import Services, free_port, wait_until
from stationpipe.testbed.webhook import Receiver


@dataclass(frozen=True)
class SimStation:
    """A simulated station on one Modbus TCP port: water = a sonde (unit 1) and a nutrient analyser
    (unit 2), simulated around ``water_class``; air = an air-quality logger (unit 1).

    ``target`` is the section's target class in the registry; ``name``, ``city`` and ``river`` are what
    operators see.
    """

    id: str
    water_class: str
    seed: int
    port: int = field(default_factory=free_port)
    kind: str = "water"
    name: str = ""
    city: str = "杭州 Hangzhou"
    river: str = "钱塘江 Qiantang"
    target: str = "III"
    lat: float = 30.25
    lon: float = 120.16
    #: TOML lines of the nutrient analyser's ``[devices.qc]`` schedule (its QC checks); empty: defaults.
    qc: str = ""

    @property
    def devices(self) -> tuple[tuple[int, str, str], ...]:
        """(unit, device name, profile) of its instruments."""
        if self.kind == "air":
            return ((1, "air", "air_station"),)
        return ((1, "sonde", "water_five"), (2, "nutrients", "water_nutrients"))


def sim_toml(stations: list[SimStation], scenarios: str = "", control_port: int | None = None) -> str:
    """The simulator's config for these stations (``scenarios``: ``[[scenarios]]`` TOML blocks)."""
    out = ['kind = "sim"\n']
    if control_port is not None:
        out.append(f'[control]\nhost = "127.0.0.1"\nport = {control_port}\n')
    for st in stations:
        for unit, name, profile in st.devices:
            out.append(
                f'[[devices]]\nname = "{st.id}-{name}"\nstation = "{st.id}"\n'
                f'profile = "{profile}"\nport = {st.port}\nunit = {unit}\n'
                f'seed = {st.seed * 10 + unit}\nwater_class = "{st.water_class}"\n'
                + (f"[devices.qc]\n{st.qc}\n" if st.qc and name == "nutrients" else "")
            )
    return "\n".join([*out, scenarios])


def edge_toml(st: SimStation, mqtt_port: int, state_dir: Path, interval: float) -> str:
    """The edge agent's config for one station."""
    head = (
        f'kind = "edge"\nstation = "{st.id}"\nstate_dir = "{state_dir}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "edge-{st.id}"\n'
    )
    devices = [
        f'[[devices]]\nname = "{name}"\nprofile = "{profile}"\ninterval = {interval}\n'
        f'timeout = 1.0\n[devices.transport]\nhost = "127.0.0.1"\nport = {st.port}\nunit = {unit}\n'
        for unit, name, profile in st.devices
    ]
    return head + "\n".join(devices)


def registry_toml(stations: list[SimStation]) -> str:
    """The registry of these stations (water stations are river sections)."""
    out = ['kind = "registry"\n']
    for st in stations:
        out.append(
            f'[[stations]]\nid = "{st.id}"\nname = "{st.name or st.id}"\nkind = "{st.kind}"\n'
            f'city = "{st.city}"\nlat = {st.lat}\nlon = {st.lon}\n'
        )
        if st.kind == "water":
            out.append(
                f'river = "{st.river}"\nsection = "{st.name or st.id}"\ntarget_class = "{st.target}"\n'
                'water_body = "river"\n'
            )
    return "\n".join(out)


def rules_toml(
    mqtt_port: int, registry: Path, state: Path, rules: str, webhook: Receiver | None, *, shared: bool = True
) -> str:
    """The rules engine's config: ``rules`` are ``[[rules]]`` TOML blocks; warnings also go to
    ``webhook`` (its secret passed in the environment, never on the command line)."""
    token = secrets.token_hex(4)
    hook = (
        f'[delivery.webhook]\nurl = "{webhook.url}"\nsecret_env = "{WEBHOOK_SECRET_ENV}"\n' if webhook else ""
    )
    return (
        f'kind = "rules"\ngroup = "rules-{token}"\nshared = {str(shared).lower()}\n'
        f'registry = "{registry}"\nstate = "{state}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "rules-{token}"\n'
        '[evaluation]\ntick = "0.5s"\n[derived]\nheadline_every = "10s"\n'
        f"[delivery]\nretry_cap = 2.0\n{hook}\n{rules}"
    )


#: Environment variable that carries the webhook secret to the rules engine.
WEBHOOK_SECRET_ENV = "STATIONPIPE_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret


def collector_toml(
    mqtt_port: int, influx_url: str, database: str, max_age: float = 0.5, *, shared: bool = True
) -> str:
    """The collector's config, with its own client id and group: a persistent session left on a shared
    broker by one pipeline must never take messages meant for the next one."""
    token = secrets.token_hex(4)
    return (
        f'kind = "collector"\ngroup = "collectors-{token}"\nshared = {str(shared).lower()}\n'
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
    scenarios: str = ""
    control_port: int | None = None
    rules: str | None = None
    webhook: Receiver | None = None
    #: TOML appended to the registry (``[[rivers]]``), and environment variables for every process (the
    #: secrets of the channels people read: never in a config file).
    registry_extra: str = ""
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: Fault-test hooks: station id -> the port its edge connects to instead of the broker's (a proxy
    #: standing for its uplink); station id -> TOML tables appended to its edge config (``[spool]``);
    #: TOML tables appended to the collector config; process name -> command prefix (``faketime …``).
    uplinks: dict[str, int] = field(default_factory=dict)
    edge_extra: dict[str, str] = field(default_factory=dict)
    collector_extra: str = ""
    wrap: dict[str, list[str]] = field(default_factory=dict)
    #: Start the edges only once the collector (and the rules engine) have subscribed: a shared
    #: subscription exists only from then on, and what the broker gets before finds no subscriber.
    consumers_first: bool = False
    #: The collector's and the rules engine's ``shared`` setting (false: plain subscriptions, one instance).
    shared: bool = True
    #: Collector instances: one (process ``collector``), or a partitioned collector of that many instances
    #: (processes ``collector-p<i>``, each with ``[partition]``, its own client id and state folder).
    collectors: int = 1

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
        env = {**os.environ, **self.env}
        if self.webhook is not None:
            env[WEBHOOK_SECRET_ENV] = self.webhook.secret
        argv = [*self.wrap.get(name, []), sys.executable, "-m", "stationpipe", verb, "--config", str(config)]
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(  # noqa: S603
                [*argv, *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def config(self, name: str) -> Path:
        """Where the config of process ``name`` (``sim``, ``collector``, ``rules``, ``edge-<id>``) is."""
        return self.workdir / f"{name}.toml"

    def restart(self, name: str) -> None:
        """Start process ``name`` again with its config (after a kill in a fault test)."""
        verb = name.split("-", 1)[0]
        extra = ["--journal", str(self.journal)] if verb == "sim" and self.journal else []
        self.start(name, verb, self.config(name), *extra)

    def __enter__(self) -> Self:
        svc = self.services
        extra = ["--journal", str(self.journal)] if self.journal else []
        sim = sim_toml(self.stations, self.scenarios, self.control_port)
        self.start("sim", "sim", self._write("sim", sim), *extra)
        registry = self._write("registry", registry_toml(self.stations) + self.registry_extra)
        for name, collector in self.collector_configs(registry).items():
            self.start(name, "collector", self._write(name, collector))
        if self.rules is not None:
            state = self.workdir / "rules-state.sqlite3"
            port, hook = svc.mosquitto.port, self.webhook
            cfg = rules_toml(port, registry, state, self.rules, hook, shared=self.shared)
            self.start("rules", "rules", self._write("rules", cfg))
        if self.consumers_first:
            for name in self.collector_names:
                self.wait_for_log(name, "collector subscribed")
            if self.rules is not None:
                self.wait_for_log("rules", "rules engine subscribed")
        for st in self.stations:
            port = self.uplinks.get(st.id, svc.mosquitto.port)
            cfg = edge_toml(st, port, self.workdir / f"state-{st.id}", self.interval)
            cfg += self.edge_extra.get(st.id, "")
            self.start(f"edge-{st.id}", "edge", self._write(f"edge-{st.id}", cfg))
        return self

    @property
    def collector_names(self) -> list[str]:
        """The collector processes' names."""
        if self.collectors == 1:
            return ["collector"]
        return [f"collector-p{i}" for i in range(self.collectors)]

    def collector_configs(self, registry: Path) -> dict[str, str]:
        """Each collector process's config by name (partitioned when there are several)."""
        influx, port = self.services.influx, self.services.mosquitto.port
        out = {}
        for i, name in enumerate(self.collector_names):
            text = collector_toml(port, influx.url, influx.database, shared=self.shared)
            head = f'registry = "{registry}"\n'
            if self.collectors > 1:
                head += f'state_dir = "{self.workdir / (name + "-state")}"\n'
                text += f"[partition]\ncount = {self.collectors}\nindex = {i}\n"
            out[name] = head + text + self.collector_extra
        return out

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

    def wait_for_log(self, name: str, text: str, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until process ``name`` has logged ``text`` ``count`` times; ``HarnessError`` if it exits
        first or after ``timeout`` seconds."""
        wait_until(
            lambda: self.log(name).count(text) >= count,
            timeout=timeout,
            what=f"{name} ({text!r} in its log)",
            proc=self.procs[name],
        )

    def log(self, name: str) -> str:
        """A process's log so far."""
        with contextlib.suppress(OSError):
            return (self.workdir / f"{name}.log").read_text(errors="replace")
        return ""
