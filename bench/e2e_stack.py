"""The processes of one end-to-end benchmark run, wired to the harness's Mosquitto and InfluxDB.

``stationpipe sim --fleet N`` (one process serving every station on ports ``base + i``), ``P`` edge packs
(``bench/edge_pack.py``: the fleet's edge configs split across ``P`` processes), one ``stationpipe
collector`` and one ``stationpipe rules`` with the rule set of ``deploy/config/rules.example.toml``
(Alertmanager delivery removed: warnings go to their retained MQTT topics only). Every child logs to
``<workdir>/<name>.log``, gets SIGTERM if this process dies (``PR_SET_PDEATHSIG``), and is stopped
(SIGTERM, then SIGKILL) by ``stop``.
"""

from __future__ import annotations

import contextlib
import ctypes
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from stationpipe.edge.spool import view
from stationpipe.kernel.config import load
from stationpipe.kernel.registermap import load_profile
from stationpipe.rules.config import RulesConfig
from stationpipe.simulators.fleetgen import FleetStation, plan
from stationpipe.testbed.services import Services, free_port

ROOT = Path(__file__).resolve().parent.parent
RULES_EXAMPLE = ROOT / "deploy" / "config" / "rules.example.toml"
_PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A benchmark process could not start; the message carries its log tail."""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the benchmark process goes away."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_range(count: int, low: int = 10_000, high: int = 32_000) -> int:
    """A base port with ``count`` free ports above it, below Linux's ephemeral range (32768+), so
    outgoing connections cannot take a station's port before the simulator binds it."""
    for _ in range(50):
        base = random.randrange(low, high - count)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise StackError(f"no {count} consecutive free ports between {low} and {high}")


def edit_tables(
    text: str, values: dict[tuple[str, str], str], drop: set[str]
) -> tuple[str, set[tuple[str, str]]]:
    """Set ``key = value`` lines of a TOML text by (table, key) (``""`` is the root table) and remove the
    tables in ``drop``, keeping every other line and comment; returns the text and the keys set."""
    table, done, out = "", set(), []
    for line in text.splitlines():
        head = re.match(r"^\s*\[\[?\s*([^\]\s]+)\s*\]", line)
        if head:
            table = head.group(1)
        if table in drop:
            continue
        key = re.match(r"^([A-Za-z0-9_\-]+)\s*=", line)
        if key and (table, key.group(1)) in values:
            done.add((table, key.group(1)))
            out.append(f"{key.group(1)} = {values[table, key.group(1)]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n", done


def rules_toml(mqtt_port: int, registry: Path, state: Path) -> str:
    """The example rules file with this run's registry, state, broker, a fresh group and client id, and a
    free metrics port; every delivery channel but MQTT removed (Alertmanager, webhook and the channels
    people read, with their routes), and the operators' desk ([api]: a fixed port). Validated by the
    caller."""
    token = secrets.token_hex(4)
    required = {
        ("", "group"): f'"bench-rules-{token}"',
        ("", "registry"): f'"{registry}"',
        ("", "state"): f'"{state}"',
        ("mqtt", "port"): str(mqtt_port),
        ("mqtt", "client_id"): f'"bench-rules-{token}"',
    }
    values = required | {("metrics", "port"): str(free_port())}
    people = {
        f"delivery.{name}{part}" for name in ("dingtalk", "wecom", "sms", "email") for part in ("", ".routes")
    }
    drop = {"delivery.alertmanager", "delivery.webhook", "api", *people}
    text, done = edit_tables(RULES_EXAMPLE.read_text(encoding="utf-8"), values, drop)
    if missing := set(required) - done:
        raise StackError(f"{RULES_EXAMPLE}: keys not found {sorted(missing)}; update bench/e2e_stack.py")
    return text


def collector_toml(services: Services, registry: Path, state: Path, metrics_port: int) -> str:
    """The collector's config: production batch defaults, a fresh group and client id, ``/metrics`` on."""
    token = secrets.token_hex(4)
    return (
        f'kind = "collector"\ngroup = "bench-collectors-{token}"\nstate_dir = "{state}"\n'
        f'registry = "{registry}"\n[mqtt]\nport = {services.mosquitto.port}\n'
        f'client_id = "bench-collector-{token}"\n[influx]\nurl = "{services.influx.url}"\n'
        f'database = "{services.influx.database}"\n[metrics]\nport = {metrics_port}\n'
    )


def points_per_poll(station: FleetStation) -> dict[str, int]:
    """Readings each device of ``station`` yields per poll, by device name."""

    return {dev: len(load_profile(prof).points) for dev, prof, _ in station.devices()}


@dataclass
class Stack:
    """Fleet simulator, edge packs, collector and rules engine for ``stations`` stations."""

    services: Services
    stations: int
    interval: float
    packs: int
    phase: str = "auto"
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    base_port: int = 0
    metrics_port: int = field(default_factory=free_port)
    fleet: list[FleetStation] = field(default_factory=list)

    @property
    def work(self) -> Path:
        """The run's folder (the harness's temporary folder)."""
        return self.services.workdir

    @property
    def out(self) -> Path:
        """Where ``stationpipe sim --fleet`` writes the registry, sim and edge configs."""
        return self.work / "fleet"

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` as child ``name``, logging to ``<work>/<name>.log``."""
        with (self.work / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks
            )
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a child's log."""
        with contextlib.suppress(OSError):
            text = (self.work / f"{name}.log").read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def wait_for(self, name: str, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready()`` until true; fail early if the child exits, or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.procs[name].poll() is not None:
                raise StackError(f"{name} exited while starting\n{self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise StackError(f"{name}: {what} not seen after {timeout:.0f} s\n{self.log_tail(name)}")
            time.sleep(0.2)  # polling the real process, bounded by the deadline

    def _logged(self, name: str, text: str) -> bool:
        with contextlib.suppress(OSError):
            return text in (self.work / f"{name}.log").read_text(errors="replace")
        return False

    def start_sim(self) -> None:
        """Generate the fleet and serve it; return once every station's port accepts connections."""
        self.base_port = free_range(self.stations)
        self.fleet = plan(self.stations, 1, self.base_port)
        py = [sys.executable, "-m", "stationpipe"]
        self.spawn(
            "sim",
            [*py, "sim", "--fleet", str(self.stations), "--out", str(self.out), "--base-port",
             str(self.base_port), "--mqtt-port", str(self.services.mosquitto.port), "--interval",
             str(self.interval), "--log-level", "WARNING"],
        )  # fmt: skip
        pending = set(range(self.stations))

        def all_open() -> bool:
            for i in sorted(pending):
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.base_port + i), timeout=0.5),
                ):
                    pending.discard(i)
            return not pending

        self.wait_for("sim", all_open, 60 + self.stations / 20, "every station's Modbus port")

    def start_collector(self) -> None:
        """Start the collector and wait until it has subscribed."""
        cfg = self.work / "collector.toml"
        cfg.write_text(
            collector_toml(self.services, self.out / "registry.toml", self.work / "collector-state",
                           self.metrics_port)
        )  # fmt: skip
        self.spawn("collector", [sys.executable, "-m", "stationpipe", "collector", "--config", str(cfg)])
        self.wait_for(
            "collector", partial(self._logged, "collector", "collector subscribed"), 60, "subscribed"
        )

    def start_rules(self) -> None:
        """Start the rules engine with the example's rule set and wait until it has subscribed."""
        cfg = self.work / "rules.toml"
        state = self.work / "rules-state.sqlite3"
        cfg.write_text(rules_toml(self.services.mosquitto.port, self.out / "registry.toml", state))
        load(cfg, RulesConfig)  # fail here, with the key path, if the example no longer fits
        self.spawn("rules", [sys.executable, "-m", "stationpipe", "rules", "--config", str(cfg)])
        self.wait_for("rules", partial(self._logged, "rules", "rules engine subscribed"), 60, "subscribed")

    def start_packs(self) -> None:
        """Set every edge config's ``poll_phase``, split the configs over ``packs`` processes (round robin)
        and start them."""
        configs = sorted((self.out / "edge").glob("*.toml"))
        for path in configs:  # a top-level key goes before the first table
            text = path.read_text(encoding="utf-8")
            path.write_text(f'poll_phase = "{self.phase}"\n{text}', encoding="utf-8")
        for p in range(self.packs):
            listing = self.work / f"pack-{p}.list"
            listing.write_text("\n".join(str(c) for c in configs[p :: self.packs]) + "\n")
            self.spawn(f"pack-{p}", [sys.executable, "-m", "bench.edge_pack", "--list", str(listing)])

    def pids(self) -> dict[str, int]:
        """Process ids of every part, services included."""
        out = {name: proc.pid for name, proc in self.procs.items()}
        for child in (self.services.mosquitto, self.services.influx):
            if child.proc is not None:
                out[child.name] = child.proc.pid
        return out

    def stop(self, names: list[str] | None = None, timeout: float = 20.0) -> dict[str, int | None]:
        """SIGTERM the named children (all by default), SIGKILL those still up after ``timeout``."""
        chosen = {n: p for n, p in self.procs.items() if names is None or n in names}
        for proc in chosen.values():
            if proc.poll() is None:
                proc.terminate()
        codes: dict[str, int | None] = {}
        for name, proc in chosen.items():
            try:
                codes[name] = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
                codes[name] = None
        return codes

    def spools(self) -> tuple[int, dict[str, set[int]]]:
        """After the packs stopped: messages produced (sum of every spool's ``next_seq``) and the seqs
        still waiting in each station's spool."""
        produced, waiting = 0, {}
        for st in self.fleet:
            path = self.out / "state" / st.info.id / "spool"
            if not path.exists():
                continue
            seen = view(path)
            produced += seen.next_seq
            waiting[st.info.id] = set(seen.waiting)
        return produced, waiting
