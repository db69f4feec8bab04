"""The chemical-park and radiation programmes through the real pipeline: ``stationpipe sim`` and one
``stationpipe edge`` per station as child processes (the harness's
:class:`~stationpipe.testbed.pipeline.Pipeline` starts and stops them), Mosquitto, and the rules engine in
this loop; a listener records what the stations published and the warnings the engine sent back."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import httpx

from stationpipe.kernel import wire
from stationpipe.kernel.messages import AlertState, WarningEvent
from stationpipe.kernel.reading import StationMessage
from stationpipe.rules.config import RulesConfig
from stationpipe.testbed.pipeline import Pipeline
from stationpipe.testbed.services import Services, free_port, tcp_open
from tests import waiting


@dataclass(frozen=True)
class Station:
    """One simulated station: id, registry fields (TOML lines) and profile; its port is picked at start."""

    id: str
    registry: str
    profile: str
    seed: int


@dataclass
class Heard:
    """Readings messages of the stations and warning states, in arrival order."""

    readings: list[StationMessage] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)

    def count(self, station: str) -> int:
        """Readings messages of ``station`` so far whose every reading is valid (the simulator answered)."""
        return sum(1 for m in self.readings if m.station == station and all(r.flag.valid for r in m.readings))

    def firing(self, station: str, rule: str) -> list[WarningEvent]:
        """Firing states of ``warnings/<station>/<rule>``."""
        return [
            w for w in self.warnings if (w.station, w.rule, w.state) == (station, rule, AlertState.FIRING)
        ]


@contextlib.asynccontextmanager
async def listening(port: int) -> AsyncIterator[Heard]:
    """Record ``stations/+/readings`` and ``warnings/#`` from the moment the block starts."""
    heard = Heard()
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"heard-{secrets.token_hex(4)}") as client:
        await client.subscribe("stations/+/readings", qos=1)
        await client.subscribe("warnings/#", qos=1)

        async def collect() -> None:
            async for message in client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if not payload:
                    continue
                msg = wire.decode(message.topic.value, payload)
                if isinstance(msg, StationMessage):
                    heard.readings.append(msg)
                elif isinstance(msg, WarningEvent):
                    heard.warnings.append(msg)

        task = asyncio.create_task(collect())
        try:
            yield heard
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _sim_toml(stations: list[Station], ports: dict[str, int], control: int, scenarios: str) -> str:
    head = f'kind = "sim"\n[control]\nhost = "127.0.0.1"\nport = {control}\n'
    devices = [
        f'[[devices]]\nname = "{st.id}-dev"\nstation = "{st.id}"\nprofile = "{st.profile}"\n'
        f"port = {ports[st.id]}\nunit = 1\nseed = {st.seed}\n"
        for st in stations
    ]
    return "\n".join([head, *devices, scenarios])


def _edge_toml(st: Station, port: int, mqtt_port: int, state_dir: Path) -> str:
    return (
        f'kind = "edge"\nstation = "{st.id}"\nstate_dir = "{state_dir}"\nstatus_interval = 5.0\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "edge-{st.id}-{secrets.token_hex(3)}"\n'
        f'[[devices]]\nname = "dev"\nprofile = "{st.profile}"\ninterval = 1.0\n'
        f'timeout = 1.0\n[devices.transport]\nhost = "127.0.0.1"\nport = {port}\nunit = 1\n'
    )


def registry_toml(stations: list[Station]) -> str:
    """The registry of these stations."""
    rows = [f'[[stations]]\nid = "{st.id}"\n{st.registry}\nlat = 30.0\nlon = 121.0\n' for st in stations]
    return 'kind = "registry"\n' + "\n".join(rows)


def rules_config(
    services: Services, tmp: Path, stations: list[Station], rules: list[dict[str, Any]]
) -> RulesConfig:
    """An engine on the test broker with these stations and rules; state in ``tmp``."""
    (tmp / "registry.toml").write_text(registry_toml(stations), encoding="utf-8")
    token = secrets.token_hex(4)
    return RulesConfig.model_validate(
        {
            "group": f"rules-{token}",
            "registry": str(tmp / "registry.toml"),
            "state": str(tmp / "state.sqlite3"),
            "mqtt": {"port": services.mosquitto.port, "client_id": f"rules-{token}"},
            "evaluation": {"tick": "0.2s"},
            "delivery": {"retry_cap": 1.0},
            "rules": rules,
        }
    )


@contextlib.contextmanager
def simulated(
    services: Services, tmp: Path, stations: list[Station], scenarios: str
) -> Iterator[tuple[Pipeline, int]]:
    """``stationpipe sim`` (with a control channel) and an edge per station, as child processes."""
    pipe = Pipeline(services, [])
    control, token = free_port(), secrets.token_hex(3)
    ports = {st.id: free_port() for st in stations}  # picked now, bound by the simulator a moment later
    sim = tmp / "sim.toml"
    sim.write_text(_sim_toml(stations, ports, control, scenarios), encoding="utf-8")
    try:
        pipe.start(f"sim-{token}", "sim", sim)
        for st in stations:
            edge = tmp / f"edge-{st.id}.toml"
            text = _edge_toml(st, ports[st.id], services.mosquitto.port, tmp / f"state-{st.id}")
            edge.write_text(text, encoding="utf-8")
            pipe.start(f"edge-{st.id}-{token}", "edge", edge)
        yield pipe, control
    finally:
        pipe.stop()


async def start_scenarios(pipe: Pipeline, control: int, *names: str) -> None:
    """Start scenarios through the simulator's control channel (each must answer 200)."""
    await until(lambda: tcp_open("127.0.0.1", control), "the control channel accepts", 10, pipe)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{control}", timeout=5.0) as client:
        for name in names:
            response = await client.post(f"/scenarios/{name}/start")
            assert response.status_code == 200, f"{response.text}\n{logs(pipe)}"


async def until(check: Callable[[], bool], what: str, within: float, pipe: Pipeline) -> None:
    """Poll what the listener heard until ``check`` holds; fail after ``within`` s with the logs."""
    await waiting.until(check, what, within, detail=lambda: logs(pipe))


def logs(pipe: Pipeline) -> str:
    """Every child's log, for a failure message."""
    return "\n".join(f"--- {name}\n{pipe.log(name)[-2000:]}" for name in pipe.procs)
