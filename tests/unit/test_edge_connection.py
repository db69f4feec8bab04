"""A device's protocol and link: the new spelling (``protocol`` + ``link``) and the older ``transport``
table mean the same connection; mistakes name the file, the key and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.connection import PROTOCOLS, Connection, ProtocolName, SerialLink, TcpLink
from stationpipe.edge.drivers import DRIVERS
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "water_five"
HEAD = 'kind = "edge"\nstation = "s1"\nstate_dir = "state"\n[mqtt]\nclient_id = "edge-s1"\n'


def _device(name: str, body: str) -> str:
    return f'[[devices]]\nname = "{name}"\nprofile = "{PROFILE}"\n{body}\n'


def _load(tmp_path: Path, *devices: str) -> EdgeConfig:
    path = tmp_path / "edge.toml"
    path.write_text(HEAD + "".join(devices))
    return load(path, EdgeConfig)


def _error(tmp_path: Path, *devices: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, *devices)
    assert caught.value.file == str(tmp_path / "edge.toml")
    return caught.value


EQUIVALENT = [
    (
        '[devices.transport]\nhost = "10.0.0.5"\nport = 502\nunit = 2',
        'protocol = "modbus_tcp"\nunit = 2\nlink = {type = "tcp", host = "10.0.0.5", port = 502}',
    ),
    (
        '[devices.transport]\ntype = "rtu_over_tcp"\nhost = "10.0.0.5"\nport = 4001\nunit = 3',
        'protocol = "modbus_rtu"\nunit = 3\nlink = {type = "tcp", host = "10.0.0.5", port = 4001}',
    ),
    (
        '[devices.transport]\ntype = "rtu"\nport = "/dev/ttyUSB0"\nbaudrate = 19200\nparity = "E"\nunit = 4',
        (
            'protocol = "modbus_rtu"\nunit = 4\n'
            'link = {type = "serial", port = "/dev/ttyUSB0", baudrate = 19200, parity = "E"}'
        ),
    ),
    (
        '[devices.transport]\ntype = "rtu"\nport = "/dev/ttyUSB1"\nunit = 5\ngap = 0.1',
        'protocol = "modbus_rtu"\nunit = 5\ngap = 0.1\nlink = {type = "serial", port = "/dev/ttyUSB1"}',
    ),
]


@pytest.mark.parametrize(("old", "new"), EQUIVALENT, ids=["tcp", "rtu_over_tcp", "rtu", "rtu_gap"])
def test_the_old_transport_and_the_new_spelling_are_one_connection(
    tmp_path: Path, old: str, new: str
) -> None:
    before = _load(tmp_path, _device("a", old)).devices[0].connection
    after = _load(tmp_path, _device("a", new)).devices[0].connection
    assert before == after


def test_modbus_rtu_is_one_protocol_on_two_links(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        _device("a", 'protocol = "modbus_rtu"\nlink = {type = "tcp", host = "10.0.0.5", port = 4001}'),
        _device("b", 'protocol = "modbus_rtu"\nlink = {type = "serial", port = "/dev/ttyUSB0"}'),
    )
    a, b = (d.connection for d in cfg.devices)
    assert a == Connection("modbus_rtu", TcpLink(host="10.0.0.5", port=4001), 1, 0.01)
    assert b == Connection("modbus_rtu", SerialLink(type="serial", port="/dev/ttyUSB0"), 1, 0.02)
    assert [line.connection.protocol for line in cfg.lines()] == ["modbus_rtu", "modbus_rtu"]


def test_devices_with_one_protocol_on_one_link_share_a_line(tmp_path: Path) -> None:
    link = 'link = {type = "tcp", host = "10.0.0.5", port = 4001}'
    old = '[devices.transport]\ntype = "rtu_over_tcp"\nhost = "10.0.0.5"\nport = 4001\nunit = 3'
    cfg = _load(
        tmp_path,
        _device("a", f'protocol = "modbus_rtu"\nunit = 1\n{link}'),
        _device("b", old),
        _device("c", f'protocol = "modbus_tcp"\n{link}'),
    )
    lines = cfg.lines()
    assert [[d.name for d in line.devices] for line in lines] == [["a", "b"], ["c"]]
    assert lines[0].connection.line == "modbus_rtu+tcp://10.0.0.5:4001"


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        (
            'protocol = "modbus_tcp"\nlink = {type = "serial", port = "/dev/ttyUSB0"}',
            "devices[0].link",
            "modbus_tcp does not run over a serial link (it does over: tcp)",
        ),
        (
            'protocol = "ascii"\nlink = {type = "serial", port = "/dev/ttyUSB1"}',
            "devices[0].protocol",
            'SPL/1) is retired: use protocol = "ascii_template" with template = "spl1-water-five"',
        ),
        (
            '[devices.transport]\ntype = "ascii"\nport = "/dev/ttyUSB1"\nunit = 5',
            "devices[0].transport",
            'SPL/1) is retired: use protocol = "ascii_template"',
        ),
        (
            'protocol = "hessen"\nlink = {type = "usb", port = "x"}',
            "devices[0].link",
            "type=usb",
        ),
        ('protocol = "modbus_rtu"\nlink = {host = "h", port = 70000}', "devices[0].link.port", "65535"),
        ('protocol = "modbus_rtu"\nlink = {type = "serial"}', "devices[0].link.port", "required key"),
        ('protocol = "modbus_rtu"\nlink = {type = "usb", port = "x"}', "devices[0].link", "type=usb"),
        ('protocol = "bacnet"\nlink = {host = "h", port = 1}', "devices[0].protocol", "modbus_rtu"),
        ('protocol = "modbus_rtu"', "devices[0]", "give protocol and link"),
        ("interval = 5", "devices[0]", "give protocol and link (or a transport table)"),
        (
            'protocol = "modbus_tcp"\n[devices.transport]\nhost = "h"',
            "devices[0]",
            "give either transport, or protocol and link (not both: protocol)",
        ),
        ('protocol = "modbus_tcp"\nunit = 300\nlink = {host = "h", port = 1}', "devices[0].unit", "255"),
    ],
)
def test_connection_errors_name_the_key_and_the_reason(
    tmp_path: Path, body: str, key: str, reason: str
) -> None:
    err = _error(tmp_path, _device("a", body))
    assert err.path == key
    assert reason in err.reason


def test_devices_sharing_a_line_must_agree_on_it(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        _device("a", 'protocol = "modbus_rtu"\nlink = {type = "serial", port = "/dev/ttyUSB0"}'),
        _device(
            "b", 'protocol = "modbus_rtu"\nlink = {type = "serial", port = "/dev/ttyUSB0", baudrate = 19200}'
        ),
    )
    assert "devices 'a' and 'b' share modbus_rtu+serial:///dev/ttyUSB0 but disagree" in err.reason


def test_every_protocol_a_device_may_name_has_a_driver() -> None:
    assert set(get_args(ProtocolName)) == set(PROTOCOLS)
    assert set(PROTOCOLS) | {"nmea"} == set(DRIVERS)
