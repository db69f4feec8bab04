"""The private aiomqtt / paho-mqtt names the kernel's MQTT boundary relies on are still there.

stationpipe.kernel.mqtt lists them in ``PRIVATE_API``; an upgrade of aiomqtt or paho-mqtt that drops or
renames one fails here, naming it, instead of somewhere deep in a service's receive path.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.matcher import MQTTMatcher

from stationpipe.kernel.mqtt import PRIVATE_API


def _owners() -> dict[str, object]:
    """One instance of each owner (some names are attributes set in ``__init__``)."""
    return {
        "aiomqtt.Client": aiomqtt.Client("127.0.0.1", identifier="private-api-probe"),
        "paho.Client": paho.Client(CallbackAPIVersion.VERSION2),
        "paho.MQTTMessage": paho.MQTTMessage(topic=b"t"),
        "paho.MQTTMatcher": MQTTMatcher(),  # type: ignore[no-untyped-call]  # paho's matcher is untyped
    }


def _installed() -> str:
    return f"aiomqtt {version('aiomqtt')}, paho-mqtt {version('paho-mqtt')}"


@pytest.mark.parametrize(("owner", "path"), PRIVATE_API, ids=[f"{o}.{p}" for o, p in PRIVATE_API])
async def test_each_private_name_is_still_there(owner: str, path: str) -> None:
    owners = _owners()  # aiomqtt's client wants a running event loop, hence an async test
    assert owner in owners, f"PRIVATE_API names an owner this test cannot build: {owner}"
    found = owners[owner]
    for part in path.split("."):
        assert hasattr(found, part), (
            f"{owner}.{path}: {part!r} is gone from {_installed()}; stationpipe.kernel.mqtt relies on it"
        )
        found = getattr(found, part)


def test_aiomqtt_keeps_reading_while_the_socket_has_bytes_pending() -> None:
    """The read-ahead socket serves paho's reads from a buffer; aiomqtt (since 2.4) loops on ``pending()``
    so buffered packets are handled without waiting for the socket to be readable again."""
    source = inspect.getsource(aiomqtt.Client._on_socket_open)
    assert "pending()" in source, f"aiomqtt's read loop no longer asks pending() ({_installed()})"


def test_the_version_floor_holds() -> None:
    major, minor = (int(x) for x in version("aiomqtt").split(".")[:2])
    assert (major, minor) >= (2, 4), f"aiomqtt {version('aiomqtt')}: the read-ahead needs 2.4's read loop"
