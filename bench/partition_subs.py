"""What per-station subscriptions cost Mosquitto: a partitioned collector subscribes to each of its
stations' readings topic by name (``stationpipe.collector.subscriptions``), so N stations are N plain
filters in the broker.

For each station count, on a fresh Mosquitto (persistence on, as deployed) and two partitions:

- subscribe: each partition's persistent session (clean session off, QoS 1) subscribes to its stations'
  ``stations/<id>/readings`` filters, 1,000 a SUBSCRIBE packet as the collector does; wall time, and the
  broker's RSS before and after;
- restart: the partitions disconnect, the broker saves (``autosave_interval 1``), is SIGKILLed and started
  again; the time until it accepts connections, and whether the filters came back with the sessions (an
  MQTT 5 QoS 1 publish to one station of each partition, both offline, gets PUBACK *success*, not 0x10
  *no matching subscribers*);
- routing: the partitions reconnect, one message per station is published (QoS 1) and the broker's CPU
  seconds until both received all of theirs (queued ones included) are divided by the messages; the same
  with one subscriber on the wildcard ``stations/+/readings`` on another fresh broker, for comparison.

    .venv/bin/python -m bench.partition_subs                       # 1,000, 10,000 and 20,000 stations
    .venv/bin/python -m bench.partition_subs --stations 50000
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from bench import smoke
from bench.procstat import cpu_seconds, usage
from stationpipe.collector.subscriptions import CHUNK
from stationpipe.kernel.partition import Partition
from stationpipe.testbed.services import Mosquitto

SMOKE = {"stations": [200]}
PARTITIONS = 2
_WAIT = 120.0  # seconds any one step may take


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done after {_WAIT:g} s")
        time.sleep(0.01)  # polling a counter the network thread updates


class Consumer:
    """A persistent session (MQTT 3.1.1, clean session off) counting the messages it receives."""

    def __init__(self, port: int, client_id: str) -> None:
        self.port, self.received, self.acked = port, 0, 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._connected = threading.Event()
        self.client.on_connect = lambda *_: self._connected.set()

    def _on_message(self, *_: object) -> None:
        self.received += 1

    def _on_subscribe(self, *_: object) -> None:
        self.acked += 1

    def connect(self) -> None:
        """Connect and start the network thread; return once connected."""
        self._connected.clear()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._connected.wait(_WAIT):
            raise SystemExit("consumer could not connect")

    def subscribe(self, topics: list[str]) -> int:
        """Subscribe ``CHUNK`` filters a packet; wait for every SUBACK; the packets sent."""
        before = self.acked
        packets = 0
        for start in range(0, len(topics), CHUNK):
            self.client.subscribe([(t, 1) for t in topics[start : start + CHUNK]])
            packets += 1
        _until(lambda: self.acked - before >= packets, "SUBACKs")
        return packets

    def disconnect(self) -> None:
        """Disconnect cleanly (the session stays in the broker) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    """MQTT 5, QoS 1, recording every PUBACK's reason code."""

    def __init__(self, port: int) -> None:
        self.codes: list[int] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{secrets.token_hex(3)}", protocol=mqtt.MQTTv5
        )
        self.client.on_publish = self._on_publish
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(
        self, _c: object, _u: object, _mid: int, code: ReasonCode, _props: Properties | None
    ) -> None:
        self.codes.append(code.value)

    def publish(self, topics: list[str]) -> None:
        """One small message a topic; return once every PUBACK came."""
        before = len(self.codes)
        for topic in topics:
            self.client.publish(topic, b'{"v":1}', qos=1)
        _until(lambda: len(self.codes) - before >= len(topics), "PUBACKs")

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def _topic(station: str) -> str:
    return f"stations/{station}/readings"


def _rss(broker: Mosquitto) -> float:
    assert broker.proc is not None
    return usage(broker.proc.pid).rss_mb


def _route(broker: Mosquitto, consumers: list[Consumer], topics: list[str], expect: int) -> float:
    """Publish one message a topic; broker CPU µs a message until the consumers have ``expect``."""
    assert broker.proc is not None
    cpu0 = cpu_seconds(broker.proc.pid)
    pub = Publisher(broker.port)
    pub.publish(topics)
    _until(lambda: sum(c.received for c in consumers) >= expect, "deliveries")
    pub.close()
    return (cpu_seconds(broker.proc.pid) - cpu0) / len(topics) * 1e6


def partitioned(work: Path, stations: list[str]) -> str:
    """Subscribe, restart, route: the report line for this station count."""
    broker = Mosquitto("mosquitto", work)
    broker.start()
    try:
        rss0 = _rss(broker)
        owned = [[s for s in stations if Partition(count=PARTITIONS, index=p).owns(s)] for p in range(2)]
        consumers = [Consumer(broker.port, f"collector-p{p}-{secrets.token_hex(3)}") for p in range(2)]
        started = time.monotonic()
        packets = 0
        for consumer, own in zip(consumers, owned, strict=True):
            consumer.connect()
            packets += consumer.subscribe([_topic(s) for s in own])
        took = time.monotonic() - started
        rss1 = _rss(broker)
        for consumer in consumers:
            consumer.disconnect()
        time.sleep(2.5)  # two autosaves
        broker.kill()
        started = time.monotonic()
        broker.start()
        back = time.monotonic() - started
        probe = Publisher(broker.port)
        probe.publish([_topic(own[0]) for own in owned])
        probe.close()
        restored = "yes" if probe.codes == [0, 0] else f"no (PUBACK reason codes {probe.codes})"
        for consumer in consumers:
            consumer.connect()
        us = _route(broker, consumers, [_topic(s) for s in stations], len(stations) + 2)
        for consumer in consumers:
            consumer.disconnect()
        per_filter = (rss1 - rss0) * 2**20 / len(stations)
        return (
            f"stations {len(stations):,}, {PARTITIONS} partitions ({len(owned[0]):,} / {len(owned[1]):,}): "
            f"subscribed {len(stations):,} filters in {took:.2f} s ({packets} SUBSCRIBE packets); "
            f"broker RSS {rss0:.1f} -> {rss1:.1f} MB ({per_filter:,.0f} bytes a filter); "
            f"SIGKILL + restart accepting in {back:.2f} s, filters restored: {restored}; "
            f"routing {us:.1f} us of broker CPU a message"
        )
    finally:
        broker.stop()


def wildcard(work: Path, stations: list[str]) -> str:
    """The same routing through one wildcard subscriber, for comparison."""
    broker = Mosquitto("mosquitto", work)
    broker.start()
    try:
        consumer = Consumer(broker.port, f"collector-{secrets.token_hex(3)}")
        consumer.connect()
        consumer.subscribe(["stations/+/readings"])
        us = _route(broker, [consumer], [_topic(s) for s in stations], len(stations))
        consumer.disconnect()
        return (
            f"stations {len(stations):,}, one wildcard subscriber: routing {us:.1f} us broker CPU a message"
        )
    finally:
        broker.stop()


def main() -> None:
    """Parse the arguments and measure each station count."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--stations",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1000, 10_000, 20_000],
        help="station counts, comma-separated",
    )
    args = smoke.parse(ap, SMOKE)
    for count in args.stations:
        stations = [f"st-{i:06d}" for i in range(count)]
        with tempfile.TemporaryDirectory(prefix="partition-subs-") as tmp:
            print(partitioned(Path(tmp), stations), flush=True)
        with tempfile.TemporaryDirectory(prefix="partition-subs-") as tmp:
            print(wildcard(Path(tmp), stations), flush=True)


if __name__ == "__main__":
    main()
