"""What the end-to-end benchmark observes, from outside the pipeline.

``Subscriber``: a plain (not shared) QoS 1 subscription to ``stations/+/readings`` on the broker, so it
gets a copy of every readings message the edge agents publish; it records each message's station,
device, seq, arrival instant and readings (parameter, own timestamp, flag).

``StoreSampler``: for a sample of stations, queries InfluxDB every ``period`` seconds for their
``readings`` points and notes, for each point, the first query that returned it. A point first returned
by query *i* became visible after query *i-1* started and before query *i* returned: its store instant
is taken as the middle of that interval (the interval's width is reported as the resolution).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

import aiomqtt
import httpx

from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.kernel import wire
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import StationMessage

Key = tuple[str, str, int]  # station, parameter, timestamp (ns): the point key in InfluxDB


@dataclass(frozen=True, slots=True)
class Seen:
    """One readings message as the subscriber got it (``arrived``: wall clock, epoch seconds)."""

    station: str
    device: str
    seq: int
    arrived: float
    readings: tuple[tuple[str, int, str], ...]  # parameter, ts (ns), flag

    @property
    def ts(self) -> float:
        """The message's first reading instant, epoch seconds."""
        return min(r[1] for r in self.readings) / 1e9 if self.readings else 0.0


@dataclass
class Subscriber:
    """Every readings message on the broker; sample stations' points are handed to the sampler. QC
    records (``stations/+/qc``: the nutrient analysers' checks) are kept apart, by what identifies a
    check, since they carry no seq though they take one of their station's spool."""

    port: int
    sample: frozenset[str]
    pending: dict[Key, float]
    seen: list[Seen] = field(default_factory=list)
    qc: set[tuple[str, str, str, str, float]] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)
    last_arrival: float = 0.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, msg: StationMessage, arrived: float) -> None:
        """Record one decoded message."""
        readings = tuple((r.parameter, timestamp_ns(r.ts), r.flag.value) for r in msg.readings)
        self.seen.append(Seen(msg.station, msg.device, msg.seq, arrived, readings))
        self.stations.add(msg.station)
        self.last_arrival = arrived
        if msg.station in self.sample:
            for parameter, ts_ns, _ in readings:
                self.pending.setdefault((msg.station, parameter, ts_ns), ts_ns / 1e9)

    async def run(self) -> None:
        """Subscribe and record until cancelled."""
        ident = f"bench-e2e-{secrets.token_hex(4)}"
        async with aiomqtt.Client(
            "127.0.0.1", self.port, identifier=ident, max_queued_incoming_messages=0
        ) as client:
            await client.subscribe([("stations/+/readings", 1), ("stations/+/qc", 1)])
            self.ready.set()
            async for message in client.messages:
                arrived = time.time()
                payload = message.payload if isinstance(message.payload, bytes) else b""
                msg = wire.decode(message.topic.value, payload)
                if isinstance(msg, StationMessage):
                    self.take(msg, arrived)
                elif isinstance(msg, QcRecord):
                    self.qc.add((msg.station, msg.device, msg.parameter, msg.check, msg.ts.timestamp()))

    async def quiet(self, for_s: float, limit: float) -> bool:
        """Wait until no message came for ``for_s`` seconds (False after ``limit`` seconds)."""
        deadline = time.monotonic() + limit
        while time.time() - self.last_arrival < for_s:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.2)  # polling our own counter, bounded by the deadline
        return True


@dataclass
class StoreSampler:
    """When the sample stations' points become visible in InfluxDB (wall clock bounds per point)."""

    url: str
    database: str
    sample: list[str]
    pending: dict[Key, float] = field(default_factory=dict)
    stored: dict[Key, tuple[float, float]] = field(default_factory=dict)
    period: float = 0.2
    margin: float = 15.0
    queries: int = 0
    failures: int = 0

    def _query(self, lower: float) -> str:
        names = "|".join(self.sample)
        return (
            f'SELECT "flag", "station", "parameter" FROM "readings" '
            f'WHERE "station" =~ /^({names})$/ AND time >= {int(lower * 1e9)}'
        )

    async def run(self) -> None:
        """Query every ``period`` seconds until cancelled."""
        previous = time.time()
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            while True:
                lower = min([time.time() - self.margin, *self.pending.values()])
                started = time.time()
                try:
                    resp = await http.post(
                        "/query", params={"q": self._query(lower), "db": self.database, "epoch": "ns"}
                    )
                    resp.raise_for_status()
                    series = resp.json()["results"][0].get("series", [])
                except (httpx.HTTPError, KeyError, ValueError):
                    self.failures += 1
                    await asyncio.sleep(self.period)
                    continue
                returned = time.time()
                self.queries += 1
                for s in series:
                    for ts_ns, _flag, station, parameter in s["values"]:
                        key = (station, parameter, int(ts_ns))
                        if key not in self.stored:
                            self.stored[key] = (previous, returned)
                            self.pending.pop(key, None)
                previous = started
                await asyncio.sleep(self.period)


async def influx_count(url: str, database: str, t0: float, t1: float) -> int:
    """Points in ``readings`` with their own timestamp in ``[t0, t1)``."""
    q = f'SELECT count("flag") FROM "readings" WHERE time >= {int(t0 * 1e9)} AND time < {int(t1 * 1e9)}'
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        resp = await http.post("/query", params={"q": q, "db": database})
        resp.raise_for_status()
        series = resp.json()["results"][0].get("series", [])
    return int(series[0]["values"][0][1]) if series else 0


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a probe task and wait for it."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
