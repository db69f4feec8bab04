"""aiomqtt's errors become the project's, once, in stationpipe.kernel.mqtt, with their reason."""

from __future__ import annotations

import asyncio
import socket

import aiomqtt
import pytest

from stationpipe.kernel.errors import BrokerUnavailableError, TransientError, UndeliveredError, first_error
from stationpipe.kernel.mqtt import MqttSettings, broker_error, make_client, undelivered


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_is_a_broker_error_with_its_reason() -> None:
    client = make_client(MqttSettings(port=_closed_port(), client_id="refused", timeout=2))
    with pytest.raises(BrokerUnavailableError, match="Connection refused") as caught:
        async with client:
            pass
    assert isinstance(caught.value.__cause__, aiomqtt.MqttError)


def test_a_lost_connection_says_why() -> None:
    try:
        try:
            raise aiomqtt.MqttCodeError(7, "lost")
        except aiomqtt.MqttError as lost:
            raise aiomqtt.MqttError("Disconnected during message iteration") from lost
    except aiomqtt.MqttError as exc:
        error = broker_error(exc)
    assert str(error) == "Disconnected during message iteration: [code:7] The connection was lost."
    assert isinstance(error, TransientError)


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        (0x10, "stations/w1/readings: no subscriber took it (No matching subscribers 0x10)"),
        (0x87, "stations/w1/readings: the broker refused it (Not authorized 0x87)"),
        (0x05, "stations/w1/readings: the broker refused it (PUBACK reason 0x05)"),
    ],
)
def test_an_undelivered_message_is_named_by_its_puback_reason(reason: int, text: str) -> None:
    error = undelivered("stations/w1/readings", reason)
    assert isinstance(error, UndeliveredError)
    assert (str(error), error.reason) == (text, reason)


async def test_a_task_group_failure_is_logged_by_its_reason_not_by_its_groups() -> None:
    async def hold() -> None:
        raise undelivered("stations/w1/readings", 0x10)

    async def lanes() -> None:
        async with asyncio.TaskGroup() as tg:  # a task group in a task group, as the edge's lanes
            tg.create_task(hold())

    caught: list[BaseExceptionGroup[UndeliveredError]] = []
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(lanes())
    except* UndeliveredError as group:
        caught.append(group)
    assert "TaskGroup" in str(caught[0].exceptions[0])  # what the edge logged before
    assert "No matching subscribers" in str(first_error(caught[0]))
