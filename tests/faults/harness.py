"""One simulated deployment under a fault: its own Mosquitto and InfluxDB (faults kill them, so they are
never shared), ledgers in the edges' spools, a probe subscriber, the pipeline; then the wind-down that
lets everything produced reach the database before the figures are taken.

Used by the fault tests (short CI windows) and by ``bench/faults_soak.py`` (the long variants).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.proxy import Proxy
from stationpipe.testbed.services import Services, running_services
from tests.faults import ledger
from tests.faults.ledger import EdgeRecord, Tally

#: Every fault's lines, in order (printed again at the end of the pytest session by the conftest).
LINES: list[str] = []


def report(*lines: str) -> None:
    """Print a fault's figures (and keep them for the session summary)."""
    for text in lines:
        print(text, flush=True)
        LINES.append(text)


@dataclass(frozen=True)
class Plan:
    """How long and how big: ``seconds`` is the fault window ("a minute", "minutes" in the soak)."""

    seconds: float = 15.0
    stations: int = 2
    interval: float = 1.0
    settle: float = 60.0  # seconds the pipeline gets to catch up after the fault

    @classmethod
    def from_env(cls, **defaults: Any) -> Plan:
        """``STATIONPIPE_FAULT_SECONDS`` / ``_STATIONS`` / ``_INTERVAL`` override the defaults."""
        plan = cls(**defaults)
        env = os.environ.get
        return cls(
            seconds=float(env("STATIONPIPE_FAULT_SECONDS", plan.seconds)),
            stations=int(env("STATIONPIPE_FAULT_STATIONS", plan.stations)),
            interval=float(env("STATIONPIPE_FAULT_INTERVAL", plan.interval)),
            settle=plan.settle,
        )


#: CI defaults: "a minute" and "minutes" become 10 s; two water stations polled every second.
CI: dict[str, Any] = {"seconds": 10.0, "stations": 2, "interval": 1.0}
#: A fault test's time limit (pytest-timeout): the suite's 120 s plus room for a longer window from the
#: environment (the long windows belong to bench/faults_soak.py).
TIMEOUT = 120.0 + 3 * Plan.from_env(**CI).seconds


def wait(check: Callable[[], bool], within: float, period: float = 0.2) -> bool:
    """Poll ``check`` (files, processes, the database: nothing here sends events) until true or the
    deadline; returns whether it became true."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(period)
    return True


def need(check: Callable[[], bool], within: float, what: str) -> None:
    """Like ``wait``, but a timeout is an error naming ``what``."""
    if not wait(check, within):
        raise AssertionError(f"not within {within:.0f} s: {what}")


def hold(seconds: float, pipe: Pipeline, *, expect_dead: frozenset[str] = frozenset()) -> None:
    """Let a fault last ``seconds`` (the fault itself, not a wait for an event); fail early if a process
    other than those killed on purpose exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        dead = [n for n, p in pipe.procs.items() if p.poll() is not None and n not in expect_dead]
        if dead:
            raise AssertionError(f"{dead[0]} exited during the fault:\n{pipe.log(dead[0])[-3000:]}")
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))


class WireProbe:
    """Counts every readings message on the broker per (station, seq): QoS 1, persistent session.

    Its subscription is shared (a group of its own) like the consumers': a plain one would make the broker
    route every message to somebody, hiding from the edges (MQTT 5 PUBACK reason 0x10) that a restarted
    broker forgot the consumers' shared subscriptions.
    """

    def __init__(self, port: int) -> None:
        self.seen = Counter[tuple[str, int]]()
        self.order: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fault-probe-{secrets.token_hex(4)}", clean_session=False
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise AssertionError("the probe could not subscribe")

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe("$share/fault-probe/stations/+/readings", qos=1)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        key = (str(body["station"]), int(body["seq"]))
        with self._lock:
            self.seen[key] += 1
            self.order.append(key)

    def redelivered(self) -> int:
        """Messages seen more than once (each extra copy counts)."""
        with self._lock:
            return sum(n - 1 for n in self.seen.values())

    def arrivals(self, station: str) -> list[int]:
        """A station's seqs in arrival order, first copies only."""
        with self._lock:
            return list(dict.fromkeys(seq for st, seq in self.order if st == station))

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def water_stations(count: int, prefix: str) -> list[SimStation]:
    """``count`` simulated water stations (class II water, target III)."""
    return [SimStation(f"{prefix}-{i:02d}", "II", seed=100 + i) for i in range(count)]


@dataclass
class Run:
    """A running deployment: ``svc``, ``pipe``, ``probe``; ``finish`` winds it down and tallies."""

    fault: str
    plan: Plan
    svc: Services
    pipe: Pipeline
    probe: WireProbe
    notes: list[str] = field(default_factory=list)

    @property
    def stations(self) -> list[SimStation]:
        """The simulated stations."""
        return self.pipe.stations

    def state_dir(self, station: str) -> Path:
        """An edge's state folder (Pipeline's layout)."""
        return self.pipe.workdir / f"state-{station}"

    def depth(self, station: str) -> int:
        """Messages waiting in an edge's spool."""
        return ledger.depth(self.state_dir(station))

    def record(self, station: str) -> EdgeRecord:
        """What an edge produced so far."""
        return EdgeRecord.read(station, self.state_dir(station))

    def stored(self, station: str, extra: tuple[str, ...] = ()) -> dict[ledger.Key, tuple[Any, ...]]:
        """The station's points in InfluxDB."""
        return ledger.stored(self.svc.influx, station, extra)

    def flowing(self, within: float = 30.0) -> None:
        """Wait until every station has points in InfluxDB."""
        need(
            lambda: all(self.stored(s.id) for s in self.stations), within, "readings of every station stored"
        )

    def stop_edges(self) -> None:
        """Wait for each spool to empty (all acknowledged), then stop the edges (SIGTERM)."""
        if not wait(lambda: all(self.depth(s.id) == 0 for s in self.stations), self.plan.settle):
            self.notes.append("edge spools not empty when the edges were stopped")
        for st in self.stations:
            proc = self.pipe.procs[f"edge-{st.id}"]
            proc.terminate()
            proc.wait(15)

    def finish(
        self, extra: tuple[str, ...] = (), quiet: float | None = None
    ) -> tuple[Tally, list[EdgeRecord], dict[ledger.Key, Any]]:
        """Stop the edges, wait until InfluxDB holds everything they produced (or the deadline, or, with
        ``quiet``, until nothing new was stored for that many seconds), tally."""
        self.stop_edges()
        records = [self.record(s.id) for s in self.stations]

        def points() -> dict[ledger.Key, tuple[Any, ...]]:
            out: dict[ledger.Key, tuple[Any, ...]] = {}
            for st in self.stations:
                out |= self.stored(st.id, extra)
            return out

        progress = Progress(quiet)

        def caught_up() -> bool:
            t = ledger.tally(self.fault, records, points())
            return t.lost_beyond_dropped == 0 or progress.stalled(t.stored)

        if not wait(caught_up, self.plan.settle, period=0.5) or progress.gave_up:
            self.notes.append(f"InfluxDB had not caught up ({progress.why(self.plan.settle)})")
        found = points()
        result = ledger.tally(self.fault, records, found)
        result.redelivered = self.probe.redelivered()
        result.notes = self.notes
        return result, records, found


class Progress:
    """Notices a count that stopped growing for ``quiet`` seconds (never, when ``quiet`` is None)."""

    def __init__(self, quiet: float | None) -> None:
        self.quiet = quiet
        self.count = -1
        self.since = time.monotonic()
        self.gave_up = False

    def stalled(self, count: int) -> bool:
        """Record ``count``; True once it has not grown for ``quiet`` seconds."""
        if count != self.count:
            self.count, self.since = count, time.monotonic()
        self.gave_up = self.quiet is not None and time.monotonic() - self.since >= self.quiet
        return self.gave_up

    def why(self, deadline: float) -> str:
        """How the wait ended."""
        return f"nothing new for {self.quiet:g} s" if self.gave_up else f"after {deadline:.0f} s"


@contextlib.contextmanager
def deployment(
    fault: str,
    plan: Plan,
    stations: list[SimStation],
    *,
    proxies: dict[str, Proxy] | None = None,
    before: Callable[[Services], contextlib.AbstractContextManager[object] | None] | None = None,
    keep: bool = False,
    **pipeline: Any,
) -> Iterator[Run]:
    """Fresh services, ledgers installed, probe subscribed, pipeline running; everything stopped after.

    ``proxies``: station id -> a proxy (not started) that its edge reaches the broker through;
    ``before``: a context (or None) entered once the services run and left after the pipeline stopped.
    """
    with running_services(keep=keep) as svc, contextlib.ExitStack() as stack:
        prepared = before(svc) if before is not None else None
        if prepared is not None:
            stack.enter_context(prepared)
        for st in stations:
            stack.enter_context(ledger.recording(svc.workdir / f"state-{st.id}"))
        uplinks = {}
        for station, proxy in (proxies or {}).items():
            proxy.target_port = svc.mosquitto.port
            stack.enter_context(proxy)
            uplinks[station] = proxy.port
        probe = WireProbe(svc.mosquitto.port)
        stack.callback(probe.close)
        with Pipeline(
            svc, stations, interval=plan.interval, uplinks=uplinks, consumers_first=True, **pipeline
        ) as pipe:
            yield Run(fault, plan, svc, pipe, probe)
