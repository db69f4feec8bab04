"""What the demo watches: warnings as each channel delivered them (MQTT, InfluxDB, the webhook), and the
newest state of the fleet in InfluxDB, all reduced to the same small records."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from stationpipe.kernel import wire
from stationpipe.kernel.errors import StationpipeError
from stationpipe.kernel.messages import WarningAction, WarningEvent
from stationpipe.kernel.mqtt import QOS
from stationpipe.testbed.services import HarnessError, InfluxDB

_SUBSCRIBE_TIMEOUT = 10.0
_QUERY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Seen:
    """One state of one warning instance (``instance`` is ``<rule>.<parameter>``) as a channel delivered
    it; ``ts`` is the warning's own instant (epoch seconds), ``message`` is ``"中文 / English"``."""

    station: str
    instance: str
    level: int
    state: str
    message: str
    ts: float

    @property
    def rule(self) -> str:
        """The rule's name."""
        return self.instance.split(".", 1)[0]

    @property
    def key(self) -> tuple[str, str, int, str, float]:
        """Identity of the state: a redelivery has the same key."""
        return (self.station, self.instance, self.level, self.state, self.ts)


def unique(seen: list[Seen]) -> list[Seen]:
    """``seen`` without redeliveries, in order of first arrival."""
    keys: dict[tuple[str, str, int, str, float], Seen] = {}
    for s in seen:
        keys.setdefault(s.key, s)
    return list(keys.values())


def from_webhook(body: dict[str, Any]) -> Seen:
    """A webhook delivery's body (rules/channels/webhook.py schema)."""
    message = body["message"]
    return Seen(
        body["station"],
        body["instance"],
        int(body["level"]),
        body["state"],
        f"{message['zh']} / {message['en']}",
        datetime.fromisoformat(body["ts"]).timestamp(),
    )


def _from_event(event: WarningEvent) -> Seen:
    ts = event.ts.timestamp()
    return Seen(event.station, event.rule, event.level, event.state.value, event.message, ts)


@dataclass
class WarningFeed:
    """Subscribes to ``warnings/#`` (QoS 1, paho's network thread) and keeps every state it is sent.

    Retained copies (sent again on a reconnect) are skipped: only live deliveries count. Operators'
    actions (``warnings/actions/…``) are kept apart (:meth:`actions`).
    """

    port: int
    host: str = "127.0.0.1"
    undecodable: int = 0
    _seen: list[Seen] = field(default_factory=list)
    _actions: list[WarningAction] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _subscribed: threading.Event = field(default_factory=threading.Event)
    _client: mqtt.Client | None = None

    def __enter__(self) -> Self:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"demo-{secrets.token_hex(4)}")
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        client.connect(self.host, self.port)
        client.loop_start()
        if not self._subscribed.wait(_SUBSCRIBE_TIMEOUT):
            self.__exit__()
            raise HarnessError(f"no subscription to warnings/# on {self.host}:{self.port}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe("warnings/#", qos=QOS)

    def _on_subscribe(self, *_: object) -> None:
        self._subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return
        try:
            event = wire.decode(msg.topic, bytes(msg.payload))
        except StationpipeError:
            event = None
        with self._lock:
            if isinstance(event, WarningEvent):
                self._seen.append(_from_event(event))
            elif isinstance(event, WarningAction):
                self._actions.append(event)
            else:
                self.undecodable += 1

    def actions(self) -> list[WarningAction]:
        """Every operator's action published so far."""
        with self._lock:
            return list(self._actions)

    def seen(self) -> list[Seen]:
        """Every state delivered so far, redeliveries removed."""
        with self._lock:
            return unique(self._seen)


@dataclass(frozen=True)
class Latest:
    """The newest reading of one parameter: value (None when the instrument gave none), flag, epoch s."""

    value: float | None
    flag: str
    ts: float


@dataclass(frozen=True)
class Snapshot:
    """The fleet as InfluxDB holds it: newest readings, water classes computed by the rules engine, the
    newest headline, points per measurement and the stored warnings."""

    latest: dict[str, dict[str, Latest]] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    headline: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[Seen] = field(default_factory=list)

    @property
    def points(self) -> int:
        """Points stored, all measurements."""
        return sum(self.counts.values())


_STATEMENTS = (
    # the newest reading of each series; the time bound keeps the scan small in a long run
    (
        "SELECT value, flag FROM readings WHERE time > now() - 5m GROUP BY station, parameter "
        "ORDER BY time DESC LIMIT 1"
    ),
    'SELECT "class" FROM water_class GROUP BY station ORDER BY time DESC LIMIT 1',
    "SELECT * FROM headline ORDER BY time DESC LIMIT 1",
    "SELECT station, rule, level, state, message FROM warnings",
    "SELECT count(*) FROM /.*/",
)


def snapshot(influx: InfluxDB) -> Snapshot:
    """Read the fleet's state in one request (five InfluxQL statements)."""
    resp = httpx.post(
        f"{influx.url}/query",
        params={"q": ";".join(_STATEMENTS), "db": influx.database, "epoch": "ns"},
        timeout=_QUERY_TIMEOUT,
    )
    resp.raise_for_status()
    results = resp.json()["results"]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise HarnessError(f"InfluxQL error: {errors[0]}")
    latest, classes, headline, warnings, counts = (r.get("series", []) for r in results)
    return Snapshot(
        _latest(latest), _classes(classes), _headline(headline), _counts(counts), _warnings(warnings)
    )


def _rows(series: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(series["columns"], values, strict=True)) for values in series["values"]]


def _latest(series: list[dict[str, Any]]) -> dict[str, dict[str, Latest]]:
    out: dict[str, dict[str, Latest]] = {}
    for s in series:
        row = _rows(s)[0]
        value = row["value"]
        out.setdefault(s["tags"]["station"], {})[s["tags"]["parameter"]] = Latest(
            None if value is None else float(value), row["flag"], row["time"] / 1e9
        )
    return out


def _classes(series: list[dict[str, Any]]) -> dict[str, int]:
    return {s["tags"]["station"]: int(_rows(s)[0]["class"]) for s in series}


def _headline(series: list[dict[str, Any]]) -> dict[str, Any]:
    return _rows(series[0])[0] if series else {}


def _counts(series: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in series:
        row = _rows(s)[0]
        out[s["name"]] = max(int(v) for k, v in row.items() if k.startswith("count_") and v is not None)
    return out


def _warnings(series: list[dict[str, Any]]) -> list[Seen]:
    rows = [row for s in series for row in _rows(s)]
    return [
        Seen(r["station"], r["rule"], int(r["level"]), r["state"], r["message"], r["time"] / 1e9)
        for r in sorted(rows, key=lambda r: r["time"])
    ]
