"""The read-ahead socket, the batched PUBACKs, the empty-first topic matcher and the message builder
(station/mqtt_socket.py), over a real socket pair; their use against a real broker is in
tests/integration/test_mqtt_batching.py."""

from __future__ import annotations

import socket
import struct

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from stationpipe.kernel.mqtt_socket import (
    READ_AHEAD,
    EmptyFirstMatcher,
    ReadAheadSocket,
    message_from_paho,
    puback_blob,
    read_ahead,
)


def _pair() -> tuple[ReadAheadSocket, socket.socket]:
    a, b = socket.socketpair()
    ours = ReadAheadSocket.adopt(a)
    ours.setblocking(False)
    return ours, b


def test_small_reads_are_served_from_one_read_ahead() -> None:
    ours, peer = _pair()
    with ours, peer:
        peer.sendall(b"\x30\x05hello\x40\x02\x00\x01")
        assert ours.recv(1) == b"\x30"
        assert ours.pending() == 10  # everything else came with that one read
        assert ours.recv(1) == b"\x05"
        assert ours.recv(5) == b"hello"
        assert ours.recv(100) == b"\x40\x02\x00\x01"  # no more than what is buffered
        assert ours.pending() == 0
        with pytest.raises(BlockingIOError):  # empty buffer, nothing on the socket: as a socket says
            ours.recv(1)


def test_a_partial_packet_is_completed_by_later_reads() -> None:
    ours, peer = _pair()
    with ours, peer:
        peer.sendall(b"abc")
        assert ours.recv(10) == b"abc"
        peer.sendall(b"defg")
        assert ours.recv(2) == b"de"
        assert ours.recv(10) == b"fg"


def test_a_closed_peer_reads_as_empty_bytes() -> None:
    ours, peer = _pair()
    with ours:
        peer.sendall(b"x")
        peer.close()
        assert ours.recv(5) == b"x"
        assert ours.recv(5) == b""


def test_one_read_takes_at_most_the_read_ahead() -> None:
    ours, peer = _pair()
    with ours, peer:
        peer.setblocking(False)
        sent = peer.send(b"y" * (3 * READ_AHEAD))
        assert sent > READ_AHEAD  # the socket pair buffers more than one read takes
        assert ours.recv(1) == b"y"
        assert ours.pending() <= READ_AHEAD - 1


def test_only_plain_sockets_are_wrapped() -> None:
    a, b = socket.socketpair()
    with b:
        wrapped = read_ahead(lambda: a)()
        assert isinstance(wrapped, ReadAheadSocket)
        wrapped.close()
    other = object()
    assert read_ahead(lambda: other)() is other  # e.g. paho's websocket wrapper


@pytest.mark.parametrize("mids", [[1], [1, 2, 3], [65535, 7, 256]])
def test_puback_blob_is_the_packets_paho_sends_one_by_one(mids: list[int]) -> None:
    one_by_one = b"".join(struct.pack("!BBH", paho.PUBACK, 2, mid) for mid in mids)
    assert puback_blob(mids) == one_by_one
    assert puback_blob([]) == b""


def test_empty_first_matcher_matches_like_pahos() -> None:
    ours, theirs = EmptyFirstMatcher(), MQTTMatcher()  # type: ignore[no-untyped-call]
    assert list(ours.iter_match("stations/s1/readings")) == []
    for matcher in (ours, theirs):
        matcher["stations/+/readings"] = "cb"
    expected = list(theirs.iter_match("stations/s1/readings"))  # type: ignore[no-untyped-call]
    assert list(ours.iter_match("stations/s1/readings")) == expected
    assert list(ours.iter_match("stations/s1/readings")) == ["cb"]


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5])
def test_messages_are_what_aiomqtt_builds(protocol: int) -> None:
    raw = paho.MQTTMessage(7, b"stations/s1/readings")
    raw.payload, raw.qos, raw.retain = b'{"v":1}', 1, True
    if protocol == paho.MQTTv5:
        raw.properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    ours, theirs = message_from_paho(raw), aiomqtt.Message._from_paho_message(raw)
    assert type(ours) is type(theirs)
    assert vars(ours) == vars(theirs)
    assert ours.topic.value == "stations/s1/readings"
    assert message_from_paho(raw).topic is ours.topic  # one Topic per distinct topic


def test_a_topic_that_is_not_utf8_fails_as_paho_does() -> None:
    with pytest.raises(UnicodeDecodeError):
        message_from_paho(paho.MQTTMessage(1, b"\xff/readings"))
