"""Fewer system calls under paho-mqtt: a read-ahead socket, and PUBACKs sent in one write.

paho reads each packet with about four ``recv`` calls (the command byte, each byte of the remaining
length, then the rest) and handles one packet per readable event; a consumer taking 10,000 messages a
second spends a large part of its time there. ``ReadAheadSocket`` fills a buffer with one ``recv`` and
serves paho's small reads from it; its ``pending()`` tells aiomqtt's read callback (which already asks
TLS sockets the same question) to go on reading until the buffer is empty, so buffered packets are never
left waiting for the socket to become readable again.

paho also looks every message's topic up in its trie of per-filter callbacks, which aiomqtt never sets;
``EmptyFirstMatcher`` answers at once while that trie is empty.

With manual acknowledgement paho queues and sends one 4-byte PUBACK per message; ``puback_blob`` packs
a batch's into one buffer that paho writes like any other packet.

aiomqtt wraps each received message in its own ``Message``, validating the topic again through a new
``Topic`` each time; ``message_from_paho`` builds the same ``Message`` with the topic's ``Topic``
cached (a consumer sees few distinct topics: one per station and kind).
"""

from __future__ import annotations

import functools
import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.matcher import MQTTMatcher

#: How much one ``recv`` asks the kernel for: about a hundred 500-byte readings messages.
READ_AHEAD = 64 * 1024


class ReadAheadSocket(socket.socket):
    """A TCP socket whose ``recv`` reads ahead into a buffer (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = b""
        self._pos = 0

    @classmethod
    def adopt(cls, sock: socket.socket) -> ReadAheadSocket:
        """The same connection (file descriptor, options) as a read-ahead socket; ``sock`` is detached."""
        timeout = sock.gettimeout()
        out = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        out.settimeout(timeout)
        return out

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes: from the buffer, or from one read-ahead ``recv`` when it is empty.

        Raises what ``socket.recv`` raises (``BlockingIOError`` when nothing is there) only when the
        buffer is empty; ``b""`` means the peer closed the connection, as for a socket.
        """
        if self._pos >= len(self._buffer):
            self._buffer = super().recv(max(bufsize, READ_AHEAD), flags)
            self._pos = 0
        start = self._pos
        self._pos = min(start + bufsize, len(self._buffer))
        return self._buffer[start : self._pos]

    def pending(self) -> int:
        """Bytes read ahead and not yet taken (the question aiomqtt asks an ``ssl.SSLSocket``)."""
        return len(self._buffer) - self._pos


def read_ahead(create: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap paho's socket factory: plain TCP sockets read ahead; TLS and websockets stay as they are."""

    def make() -> Any:
        sock = create()
        if type(sock) is socket.socket and sock.type == socket.SOCK_STREAM:
            return ReadAheadSocket.adopt(sock)
        return sock

    return make


class EmptyFirstMatcher(MQTTMatcher):
    """paho's topic-filter trie, answering "no callback" without walking it while it holds none."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # paho's matcher is untyped

    def iter_match(self, topic: str) -> Iterator[Any]:
        """What ``MQTTMatcher.iter_match`` yields; nothing, at once, when no filter was ever added."""
        if not self._root._children:  # noqa: SLF001 - the trie's own root
            return iter(())
        return cast("Iterator[Any]", super().iter_match(topic))  # type: ignore[no-untyped-call]


def puback_blob(mids: Iterable[int]) -> bytes:
    """PUBACK packets for ``mids``, back to back: fixed header, remaining length 2, packet id.

    The same four bytes paho's own ``ack`` sends one by one (valid under MQTT 3.1.1 and 5, where a
    success PUBACK without properties may omit the reason code).
    """
    mids = list(mids)
    return struct.pack(f"!{len(mids)}I", *((paho.PUBACK << 24) | (2 << 16) | mid for mid in mids))


@functools.lru_cache(maxsize=8192)
def _topic(raw: bytes) -> aiomqtt.Topic:
    return aiomqtt.Topic(raw.decode())  # UnicodeDecodeError, as paho's ``MQTTMessage.topic`` raises


_new_message = object.__new__


def message_from_paho(message: paho.MQTTMessage) -> aiomqtt.Message:
    """What aiomqtt's ``Message._from_paho_message`` returns, without its per-message ``Topic`` check
    (done once per distinct topic, cached and bounded) and keyword-argument constructor."""
    out: aiomqtt.Message = _new_message(aiomqtt.Message)
    out.topic = _topic(message._topic)  # noqa: SLF001 - the raw bytes: its ``topic`` decodes each time
    out.payload = cast("bytes", message.payload)  # paho types it bytes | bytearray; it is bytes
    out.qos = message.qos
    out.retain = message.retain
    out.mid = message.mid
    out.properties = getattr(message, "properties", None)  # MQTT 5 only
    return out
