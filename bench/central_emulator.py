"""The station emulator of the central capacity benchmark (``bench/central.py``): readings messages of N
stations published on the clock grid, as the fleet's edge agents would, from one process and one MQTT
connection.

    python -m bench.central_emulator --port P --stations N --interval T --first-tick E --ticks K
        --result FILE [--phase] [--hot-every M] [--client raw|kernel]

The fleet is ``stationpipe.simulators.fleetgen.plan(N)`` (the ``sim --fleet`` stations and device mix:
two in three water stations with a sonde of 5 parameters, a nutrient analyser of 4 and a chlorophyll-a
analyser of 1; one in three air stations with a logger of 6 and a weather station of 4). Each device's
payload is ``wire.encode`` of a real ``StationMessage`` made once, before the clock starts, and cut at
its ``seq`` and ``ts``: a message is then three byte strings joined around the seq and the timestamp, the
only parts that change (canonical wire format, strict-decoded once at start to make sure).

Tick ``k`` is the instant ``E + k T`` (``k`` in ``0..K-1``). A device's reading instant in a tick is the
tick itself, or with ``--phase`` the tick plus the station's offset (CRC-32 of its id, spread over the
interval, as edge agents with poll phases spread their polls). Messages go out as they fall due (wake-ups
at least ``GRAIN`` apart: what fell due meanwhile goes out together), at QoS 1, by one of two clients:

* ``--client raw`` (default): ``bench/raw_publisher.py``'s MQTT 3.1.1 packets (CONNECT, PUBLISH QoS 1,
  PUBACK counted on a reader thread), each wake-up's messages in one write, at most ``RAW_WINDOW``
  unacknowledged. About 75 us of CPU a message less than the kernel client: a burst of 13,334 messages
  leaves in under half a second, where the kernel client needed 7 s and was the bound.
* ``--client kernel``: the kernel's MQTT client (``stationpipe.kernel.mqtt.make_client``, paho
  underneath), messages handed to paho without awaiting each PUBACK, at most ``WINDOW`` unacknowledged
  (paho walks its whole queue of unacknowledged messages on every PUBACK: a deep queue is quadratic).

Every ``--hot-every``-th water station reads CODMn above the GB 3838 class V limit on even ticks and
clean on odd ones, so the section rule fires and resolves there every tick (read -> warning).

It prints ``emulator ready`` once connected and prepared, publishes the K ticks, waits for every PUBACK
and writes FILE (JSON): messages and readings produced (in all, and in ticks 1..K-1, the measured
window), messages acknowledged, how late messages were handed to the client (p50, p99, max) and its own
CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import raw_publisher
from stationpipe.kernel import wire
from stationpipe.kernel.catalogue import Kind
from stationpipe.kernel.mqtt import Client, MqttSettings, make_client
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.kernel.registermap import load_profile
from stationpipe.simulators.fleetgen import FleetStation, plan

WINDOW = 200  # messages handed to the client and not yet acknowledged: the emulator waits above it
INFLIGHT = 2 * WINDOW  # paho's own, above it: none wait in paho, which walks them all on each PUBACK
BATCH = WINDOW // 2  # messages handed to the client before the loop lets its socket I/O run
RAW_WINDOW = 20_000  # raw packets: sent and not yet acknowledged (ids stay unique below 65,535)
RAW_BATCH = 2000  # raw packets joined into one write
GRAIN = 0.02  # s: the shortest sleep; what falls due meanwhile goes out together (one wake-up, not each)
HOT_CODMN = 16.0  # mg/L: above the class V limit (15), so above every section's target
NORMAL = {  # plausible clean values: class I water, good air, mild weather
    "temp": 18.5, "ph": 7.4, "do": 8.6, "cond": 320.0, "turb": 6.2, "codmn": 1.2, "nh3n": 0.08,
    "tp": 0.006, "tn": 0.12, "chla": 3.1, "so2": 3.0, "no2": 15.0, "co": 400.0, "o3": 30.0,
    "pm10": 40.0, "pm25": 20.0, "wind_dir": 90.0, "wind_speed": 2.1, "air_temp": 18.0, "rh": 65.0,
}  # fmt: skip
_SEQ, _TS = 987_654_321, datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Template:
    """A device's payload cut around its seq and ts: ``head + seq + mid + ts + tail``."""

    topic: str
    head: bytes
    mid: bytes
    tail: bytes
    readings: int

    def payload(self, seq: int, ts: bytes) -> bytes:
        """The payload of one message."""
        return b"".join((self.head, str(seq).encode(), self.mid, ts, self.tail))


def template(station: str, device: str, readings: list[tuple[str, str, float]]) -> Template:
    """Encode one real message and cut it at the marker seq and ts."""
    msg = StationMessage(
        station, device, _SEQ, _TS, tuple(Reading(station, p, v, u, _TS) for p, u, v in readings)
    )
    topic, payload = wire.encode(msg)
    head, rest = payload.split(str(_SEQ).encode(), 1)
    mid, tail = rest.split(wire.rfc3339(_TS).encode(), 1)
    return Template(topic, head, mid, tail, len(readings))


def ts_bytes(ms: int) -> bytes:
    """RFC 3339 UTC with milliseconds, from epoch milliseconds."""
    sec, rem = divmod(ms, 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec))}.{rem:03d}Z".encode()


def phase_ms(station: str, interval: float) -> int:
    """The station's deterministic offset in the interval, milliseconds."""
    return zlib.crc32(station.encode()) % max(1, int(interval * 1000))


@dataclass
class Device:
    """One emulated instrument: its templates (clean, and hot on even ticks when it has one), its
    offset in the interval and its next seq."""

    clean: Template
    hot: Template | None
    offset_ms: int
    seq: int = 0


def devices(fleet: list[FleetStation], interval: float, *, phase: bool, hot_every: int) -> list[Device]:
    """Every device of the fleet, in order of its offset in the interval."""
    out, water = [], 0
    for st in fleet:
        offset = phase_ms(st.info.id, interval) if phase else 0
        hot_station = False
        if st.info.kind is Kind.WATER:
            hot_station = hot_every > 0 and water % hot_every == 0
            water += 1
        for dev, prof, _ in st.devices():
            points = [(p.parameter, p.unit, NORMAL[p.parameter]) for p in load_profile(prof).points]
            clean = template(st.info.id, dev, points)
            hot = None
            if hot_station and any(p == "codmn" for p, _, _ in points):
                hot = template(
                    st.info.id, dev, [(p, u, HOT_CODMN if p == "codmn" else v) for p, u, v in points]
                )
            out.append(Device(clean, hot, offset))
    out.sort(key=lambda d: d.offset_ms)
    return out


def check(devs: list[Device]) -> None:
    """Strict-decode one payload of each kind of template: the cut templates are the real wire format."""
    for dev in {d.clean.topic.split("/")[1][:4]: d for d in devs}.values():
        for tpl in filter(None, (dev.clean, dev.hot)):
            msg = wire.decode(tpl.topic, tpl.payload(7, ts_bytes(1_700_000_000_123)))
            if not isinstance(msg, StationMessage) or msg.seq != 7:
                raise SystemExit(f"emulator: a prepared payload does not decode back: {msg!r}")


@dataclass
class Counts:
    """What the emulator produced and how late it was."""

    messages: int = 0
    readings: int = 0
    window_messages: int = 0
    window_readings: int = 0
    late: list[float] = field(default_factory=list)

    def take(self, dev: Device, tick_ms: int, k: int, now_ms: float) -> tuple[str, bytes]:
        """The topic and payload of ``dev``'s message of tick ``k`` (its seq taken), counted."""
        tpl = dev.hot if dev.hot is not None and k % 2 == 0 else dev.clean
        at = tick_ms + dev.offset_ms
        payload = tpl.payload(dev.seq, ts_bytes(at))
        dev.seq += 1
        self.messages += 1
        self.readings += tpl.readings
        if k > 0:
            self.window_messages += 1
            self.window_readings += tpl.readings
        self.late.append(now_ms - at)
        return tpl.topic, payload


async def publish_tick(client: Client, devs: list[Device], tick_ms: int, k: int, counts: Counts) -> None:
    """Hand every device's message of tick ``k`` to the client when it falls due."""
    paho = client._client  # noqa: SLF001 - the kernel's client: publish without awaiting each PUBACK
    i = 0
    while i < len(devs):
        now_ms = time.time() * 1000
        due = tick_ms + devs[i].offset_ms
        if due > now_ms:
            await asyncio.sleep(max(GRAIN, (due - now_ms) / 1000))  # the clock grid: until the next falls due
            continue
        if len(paho._out_messages) >= WINDOW:  # noqa: SLF001 - paho's unacknowledged messages
            await asyncio.sleep(0.001)  # Mosquitto acknowledges QoS 1 at once: a millisecond frees it
            continue
        n = 0
        while i < len(devs) and n < BATCH and tick_ms + devs[i].offset_ms <= now_ms:
            paho.publish(*counts.take(devs[i], tick_ms, k, now_ms), 1)
            i += 1
            n += 1
        await asyncio.sleep(0)  # let the client write and read its socket


def publish_tick_raw(sock: RawSession, devs: list[Device], tick_ms: int, k: int, counts: Counts) -> None:
    """The same over ``bench/raw_publisher.py``'s packets: each wake-up's messages in one write."""
    i = 0
    while i < len(devs):
        now_ms = time.time() * 1000
        due = tick_ms + devs[i].offset_ms
        if due > now_ms:
            time.sleep(max(GRAIN, (due - now_ms) / 1000))  # the clock grid: until the next falls due
            continue
        sock.acks.wait(sock.sent - RAW_WINDOW, 60.0)
        packets: list[bytes] = []
        while i < len(devs) and len(packets) < RAW_BATCH and tick_ms + devs[i].offset_ms <= now_ms:
            topic, payload = counts.take(devs[i], tick_ms, k, now_ms)
            packets.append(raw_publisher.publish_packet(topic.encode(), payload, sock.sent % 65535 + 1))
            sock.sent += 1
            i += 1
        sock.sock.sendall(b"".join(packets))


@dataclass
class RawSession:
    """A connected ``bench/raw_publisher.py`` session: its socket, PUBACK counter and messages sent."""

    sock: socket.socket
    acks: raw_publisher.Acks
    sent: int = 0


async def acked(client: Client, limit: float) -> bool:
    """Wait (at most ``limit`` s) until the client has no unacknowledged message left."""
    paho = client._client  # noqa: SLF001
    deadline = time.monotonic() + limit
    while paho._out_messages:  # noqa: SLF001 - paho's queue of messages not yet acknowledged
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)  # polling the client's queue, bounded by the deadline
    return True


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run_kernel(args: argparse.Namespace, devs: list[Device], counts: Counts) -> tuple[bool, int]:
    """Publish every tick through the kernel's MQTT client; (every message acknowledged, unacknowledged)."""
    settings = MqttSettings(port=args.port, client_id=f"bench-emulator-{args.first_tick}")
    async with make_client(
        settings, max_inflight_messages=INFLIGHT, max_queued_outgoing_messages=0
    ) as client:
        print(f"emulator ready: {len(devs)} devices of {args.stations} stations (kernel client)", flush=True)
        for k in range(args.ticks):
            await publish_tick(client, devs, int((args.first_tick + k * args.interval) * 1000), k, counts)
        all_acked = await acked(client, 60.0)
        await asyncio.sleep(max(0.0, args.first_tick + args.ticks * args.interval - time.time()))
        return all_acked, len(client._client._out_messages)  # noqa: SLF001


def run_raw(args: argparse.Namespace, devs: list[Device], counts: Counts) -> tuple[bool, int]:
    """Publish every tick as prepared packets on one socket; (every message acknowledged, unacknowledged)."""
    sock = raw_publisher.connect(args.port, f"bench-emulator-{args.first_tick}")
    session = RawSession(sock, raw_publisher.Acks(sock))
    print(f"emulator ready: {len(devs)} devices of {args.stations} stations (raw packets)", flush=True)
    try:
        for k in range(args.ticks):
            publish_tick_raw(session, devs, int((args.first_tick + k * args.interval) * 1000), k, counts)
        try:
            session.acks.wait(session.sent, 60.0)
        except SystemExit as exc:
            print(exc, flush=True)
        time.sleep(
            max(0.0, args.first_tick + args.ticks * args.interval - time.time())
        )  # to the window's end
        return session.acks.count >= session.sent, max(0, session.sent - session.acks.count)
    finally:
        sock.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare, connect, publish the ticks, wait for the acknowledgements; the result."""
    devs = devices(plan(args.stations, 1, 0), args.interval, phase=args.phase, hot_every=args.hot_every)
    check(devs)
    counts = Counts()
    if args.client == "kernel":
        all_acked, unacked = asyncio.run(run_kernel(args, devs, counts))
    else:
        all_acked, unacked = run_raw(args, devs, counts)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    late = counts.late or [0.0]
    return {
        "client": args.client,
        "messages": counts.messages,
        "readings": counts.readings,
        "window_messages": counts.window_messages,
        "window_readings": counts.window_readings,
        "all_acked": all_acked,
        "unacked": unacked,
        "late_p50_ms": _quantile(late, 0.5),
        "late_p99_ms": _quantile(late, 0.99),
        "late_max_ms": max(late),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def main() -> None:
    """See the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--stations", type=int, required=True)
    ap.add_argument("--interval", type=float, required=True)
    ap.add_argument("--first-tick", type=float, required=True, help="epoch seconds of tick 0")
    ap.add_argument("--ticks", type=int, required=True)
    ap.add_argument("--result", type=Path, required=True)
    ap.add_argument("--phase", action="store_true", help="per-station offsets spread over the interval")
    ap.add_argument("--hot-every", type=int, default=50)
    ap.add_argument("--client", choices=("raw", "kernel"), default="raw")
    args = ap.parse_args()
    result = run(args)
    args.result.write_text(json.dumps(result))
    print(f"emulator done: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
