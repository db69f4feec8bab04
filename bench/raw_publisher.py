"""A load generator for the benchmarks: QoS 1 messages as MQTT 3.1.1 packets prepared before the clock
starts, written to the broker in 64 KiB chunks.

The benchmarks share two cores with what they measure, so the generator must take as little of them as
it can: ``mosquitto_pub`` costs ~10 µs a message (one write and one PUBACK read each), a paho publisher
about as much as the collector itself. This one prepares every packet beforehand and then only copies
bytes, as the direct-write baseline prepares its request bodies: it measures the path from a ready
source, not the source.

It is a measuring tool, not a client: it speaks just CONNECT, PUBLISH at QoS 1 and PUBACK (OASIS MQTT
3.1.1, sections 3.1, 3.3 and 3.4), sends no keepalive and is used on loopback only. The product's
clients are paho-mqtt.

    python -m bench.raw_publisher --port P --client-id ID TOPIC=FEED...

Each FEED file holds one payload per line. The process connects and prints ``ready``; on a line on
stdin it sends every message (topics interleaved), waits for every PUBACK and prints ``done N``; it
exits at the end of stdin.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
from itertools import zip_longest
from pathlib import Path

CHUNK = 64 * 1024
WINDOW = 30_000  # messages sent and not yet acknowledged (packet ids must stay unique while in flight)
_PUBLISH_QOS1 = 0x32
_PUBACK = 0x40


def remaining_length(n: int) -> bytes:
    """The variable-length "remaining length" of a fixed header (section 2.2.3)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str16(text: bytes) -> bytes:
    return struct.pack("!H", len(text)) + text


def connect_packet(client_id: str) -> bytes:
    """CONNECT, MQTT 3.1.1, clean session, no keepalive, no will, no credentials."""
    body = _str16(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0) + _str16(client_id.encode())
    return bytes([0x10]) + remaining_length(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, mid: int) -> bytes:
    """PUBLISH at QoS 1 with packet id ``mid`` (1..65535)."""
    head = _str16(topic) + struct.pack("!H", mid)
    return bytes([_PUBLISH_QOS1]) + remaining_length(len(head) + len(payload)) + head + payload


def interleaved(feeds: dict[str, Path]) -> list[tuple[bytes, bytes]]:
    """(topic, payload) of every feed line, one topic after the other in turn."""
    columns = [
        [(topic.encode(), line) for line in path.read_bytes().splitlines() if line]
        for topic, path in feeds.items()
    ]
    return [m for row in zip_longest(*columns) for m in row if m is not None]


def chunks(messages: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:
    """The packets joined into ~64 KiB writes, each with the count of messages sent once it is written."""
    out: list[tuple[int, bytes]] = []
    pending: list[bytes] = []
    size = 0
    for n, (topic, payload) in enumerate(messages):
        packet = publish_packet(topic, payload, n % 65535 + 1)
        pending.append(packet)
        size += len(packet)
        if size >= CHUNK:
            out.append((n + 1, b"".join(pending)))
            pending, size = [], 0
    if pending:
        out.append((len(messages), b"".join(pending)))
    return out


class Acks:
    """Counts the broker's PUBACKs on a reader thread; the sender waits on it to keep the window."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.count = 0
        self.closed = False
        self.error = ""
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        tail = b""
        while data := self.sock.recv(CHUNK):
            tail += data
            whole = len(tail) // 4
            if any(tail[i] != _PUBACK for i in range(0, 4 * whole, 4)):
                self.error = "the broker sent something other than PUBACK"
                break
            tail = tail[4 * whole :]
            with self.changed:
                self.count += whole
                self.changed.notify_all()
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wait(self, at_least: int, timeout: float) -> None:
        """Until ``at_least`` messages are acknowledged; ``SystemExit`` if the broker closes or stalls."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.count >= at_least or self.closed, timeout):
                raise SystemExit(f"raw_publisher: {self.count} of {at_least} acknowledged in {timeout} s")
            if self.count < at_least:
                why = self.error or "the broker closed the connection"
                raise SystemExit(f"raw_publisher: {why} after {self.count} acknowledgements")


def connect(port: int, client_id: str) -> socket.socket:
    """A connected session on 127.0.0.1 (CONNACK accepted)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(connect_packet(client_id))
    connack = b""
    while len(connack) < 4:
        more = sock.recv(4 - len(connack))
        if not more:
            raise SystemExit("raw_publisher: the broker closed the connection before CONNACK")
        connack += more
    if connack[0] != 0x20 or connack[3] != 0:
        raise SystemExit(f"raw_publisher: connection refused (CONNACK {connack.hex()})")
    sock.settimeout(None)
    return sock


def send(sock: socket.socket, prepared: list[tuple[int, bytes]], timeout: float = 120.0) -> int:
    """Write every chunk, never more than ``WINDOW`` messages ahead of the acknowledgements."""
    acks = Acks(sock)
    for sent_after, chunk in prepared:
        acks.wait(sent_after - WINDOW, timeout)
        sock.sendall(chunk)
    total = prepared[-1][0] if prepared else 0
    acks.wait(total, timeout)
    return total


def main() -> None:
    """See the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="bench-raw-publisher")
    parser.add_argument("feeds", nargs="+", help="TOPIC=FILE, one payload per line")
    args = parser.parse_args()
    feeds = {topic: Path(path) for topic, _, path in (f.partition("=") for f in args.feeds)}
    prepared = chunks(interleaved(feeds))
    sock = connect(args.port, args.client_id)
    print("ready", flush=True)
    sys.stdin.readline()
    print(f"done {send(sock, prepared)}", flush=True)
    sys.stdin.read()  # the benchmark reads this process's CPU time before it lets it exit
    sock.close()


if __name__ == "__main__":
    main()
