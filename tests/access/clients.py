"""A paho-mqtt client for access tests: TLS, MQTT 5 or 3.1.1, and every broker answer kept (CONNACK,
SUBACK and PUBACK reason codes) along with the live messages received (retained messages replayed at
subscription are left out: they are what earlier tests left on the broker)."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

TIMEOUT = 10.0
NOT_AUTHORIZED = 135  # MQTT 5 reason code 0x87


@dataclass
class Client:
    """One connection as user ``user`` (``None``: anonymous) to a TLS listener."""

    user: str | None
    password: str | None
    port: int
    ca: Path | None
    client_id: str = ""
    v5: bool = True
    connected: threading.Event = field(default_factory=threading.Event)
    connect_rc: ReasonCode | None = None
    acks: dict[int, ReasonCode | None] = field(default_factory=dict)
    granted: dict[int, list[ReasonCode]] = field(default_factory=dict)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    paho: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        protocol = mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311
        name = self.client_id or f"access-{self.user or 'anonymous'}-{id(self)}"
        self.paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=protocol)
        if self.user is not None:
            self.paho.username_pw_set(self.user, self.password)
        if self.ca is not None:
            self.paho.tls_set(ca_certs=str(self.ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.paho.on_connect = self._on_connect
        self.paho.on_publish = self._on_publish
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_message = self._on_message

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.connect_rc = rc
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Any) -> None:
        with self.changed:
            self.acks[mid] = rc
            self.changed.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: list[ReasonCode], _p: Any) -> None:
        with self.changed:
            self.granted[mid] = codes
            self.changed.notify_all()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        if msg.retain:  # replayed at subscription: left over from earlier tests, not what we caused
            return
        with self.changed:
            self.messages.append((msg.topic, bytes(msg.payload)))
            self.changed.notify_all()

    def connect(self) -> ReasonCode:
        """Connect and return the CONNACK reason code (a refusal is a code, not an exception)."""
        self.paho.connect("127.0.0.1", self.port, keepalive=30)
        self.paho.loop_start()
        assert self.connected.wait(TIMEOUT), f"{self.user}: no CONNACK"
        assert self.connect_rc is not None
        return self.connect_rc

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Publish at QoS 1; return the PUBACK reason code (0 in MQTT 3.1.1, which has none)."""
        info = self.paho.publish(topic, payload, qos=1, retain=retain)
        with self.changed:
            assert self.changed.wait_for(lambda: info.mid in self.acks, TIMEOUT), f"no PUBACK for {topic}"
            rc = self.acks[info.mid]
        return 0 if rc is None else rc.value

    def subscribe(self, topic: str) -> int:
        """Subscribe at QoS 1; return the SUBACK reason code (granted QoS, or a failure code)."""
        _, mid = self.paho.subscribe(topic, qos=1)
        assert mid is not None
        with self.changed:
            assert self.changed.wait_for(lambda: mid in self.granted, TIMEOUT), f"no SUBACK for {topic}"
            return self.granted[mid][0].value

    def wait_for(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Wait until ``(topic, payload)`` has arrived; return everything received so far."""
        with self.changed:
            arrived = self.changed.wait_for(lambda: (topic, payload) in self.messages, TIMEOUT)
            assert arrived, f"{self.user}: {topic} {payload!r} never arrived; got {self.messages}"
            return list(self.messages)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.paho.disconnect()
        self.paho.loop_stop()
