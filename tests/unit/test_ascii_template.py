"""ASCII record templates: checksums (manual and catalogue test vectors), the shipped templates, parsing
(noise, bad checksums, refusals, other addresses, missing values, status), resolving a device's template,
the edge configuration around them, and the simulator rendering records from them (the SPL/1 sensor's
behaviour, formerly tests/unit/test_sim_ascii.py)."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stationpipe.cli import check_file
from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.ascii_template import Template, has_record, parse, resolve, shipped
from stationpipe.kernel.checksums import KINDS, hex_checksum
from stationpipe.kernel.config import load, validate
from stationpipe.kernel.errors import ConfigError, DeviceChecksumError, DeviceError, DeviceExceptionError
from stationpipe.kernel.nmea0183 import frame
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.board import Board
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Fault, Maintenance, ModbusException, Scenario
from stationpipe.simulators.template_instrument import TemplateInstrument, TemplateLine, garble

SPL1 = resolve("spl1-water-five", None)
WMT700 = resolve("vaisala-wmt700-mwv", None)
WXT = resolve("vaisala-wxt520", None)
HEAD = 'kind = "edge"\nstation = "s1"\nstate_dir = "state"\n[mqtt]\nclient_id = "edge-s1"\n'


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("xor", b"3,RD", "09"),  # SPL/1's request
        ("xor", b"", "00"),
        ("xor", b"AB", "03"),
        ("xor", b"IIWIQ,MWV", "2F"),  # WMT700 User Guide, E.3: $IIWIQ,MWV*2F
        ("xor", b"WIMWV,045,R,011.63,N,A", "09"),  # ... and its answer $WIMWV,045,R,011.63,N,A*09
        ("sum8", b"\x80\x90", "10"),
        ("sum16", b"\xff\xff\x02", "0200"),
        ("crc16modbus", b"123456789", "4B37"),  # the catalogue's check values
        ("crc16xmodem", b"123456789", "31C3"),
        ("crc32isohdlc", b"123456789", "CBF43926"),
    ],
)
def test_checksums(kind: str, data: bytes, expected: str) -> None:
    assert hex_checksum(kind, data) == expected


def test_unknown_checksum_kind() -> None:
    assert {"xor", "sum8", "sum16", "crc16modbus"} <= KINDS
    with pytest.raises(ValueError, match="unknown checksum 'crc99'"):
        hex_checksum("crc99", b"")


def test_shipped_templates_name_their_source_and_parse_their_examples() -> None:
    names = shipped()
    assert {"spl1-water-five", "vaisala-wmt700-mwv", "vaisala-wxt520", "vaisala-wxt520-auto"} <= set(names)
    for name in names:
        template = resolve(name, None)
        assert template.name == name
        assert template.source
        assert template.examples
        for example in template.examples:
            parse(template, example.encode("latin-1"), None)
    assert "Vaisala" in WMT700.source
    assert "M211095EN" in WMT700.source
    assert "M210906EN" in WXT.source
    assert "invented" in SPL1.source


def test_requests_carry_their_checksum() -> None:
    assert SPL1.request_bytes(3) == b"$3,RD*09\r\n"
    assert WMT700.request_bytes(0) == b"$IIWIQ,MWV*2F\r\n"
    assert WXT.request_bytes(0) == b"0R0\r\n"
    assert resolve("vaisala-wxt520-auto", None).pushed


def test_a_record_after_line_noise_scaled_and_flagged() -> None:
    record = parse(WMT700, b"\x00\xff$W garbage\r\n$WIMWV,045,R,011.63,N,A*09\r\n", None)
    assert record.raw == {"dir": 45.0, "spd": 11.63}
    assert record.flag is Flag.N
    assert WMT700.fields[1].point.scale == pytest.approx(0.514444)
    invalid = parse(WMT700, frame("WIMWV,,R,,N,V"), None)  # missing reading: empty fields, status V
    assert math.isnan(invalid.raw["dir"])
    assert invalid.flag is Flag.D


def test_bad_checksum_another_address_and_refusals() -> None:
    good = frame("3,RD,temp=18.4,ph=7.6,do=8.1,cond=412,turb=NA,FL=M")
    record = parse(SPL1, good, 3)
    assert record.flag is Flag.M
    assert math.isnan(record.raw["turb"])
    assert record.raw["ph"] == 7.6
    with pytest.raises(DeviceChecksumError, match="checksum mismatch"):
        parse(SPL1, good.replace(b"7.6", b"7.7"), 3)
    with pytest.raises(DeviceError, match="another address"):
        parse(SPL1, good, 4)
    with pytest.raises(DeviceExceptionError) as refused:
        parse(SPL1, frame("3,ER,E6"), 3)
    assert refused.value.code == 6
    with pytest.raises(DeviceError, match="refused"):
        parse(SPL1, frame("3,ER,busy"), 3)
    with pytest.raises(DeviceError, match="is not a number"):
        parse(SPL1, frame("3,RD,temp=abc,ph=7.6,do=8.1,cond=412,turb=1,FL=N"), 3)
    with pytest.raises(DeviceError, match="not a record"):
        parse(SPL1, b"hello\r\n", 3)


def test_invalid_markers_and_skipped_parameters() -> None:
    text = b"0R0,Dm=027D,Sn=0.0M,Sm=0.1#,Ta=22.7C,Ua=55.5P,Pa=1004.7H,Rc=0.10M\r\n"
    record = parse(WXT, text, 0)
    assert math.isnan(record.raw["sm"])
    assert record.raw["pa"] == 1004.7


def test_completeness_needs_a_whole_record() -> None:
    whole = frame("WIMWV,045,R,011.63,N,A")
    assert not has_record(WMT700, whole[:-2])
    assert has_record(WMT700, b"noise\r\n" + whole)
    assert has_record(SPL1, frame("3,ER,E6"))


def _template(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "source": "a test",
        "pattern": r"V=(?P<v>[0-9.]+)",
        "record": "V={v:.1f}",
        "fields": [{"group": "v", "parameter": "ph", "unit": "pH"}],
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"pattern": "V=(?P<w>.*)"}, "pattern has no group v"),
        ({"pattern": "V=(?P<v>"}, "not a regular expression"),
        ({"record": "V={x}"}, "record names unknown fields: x"),
        ({"examples": ["W=1"]}, "does not parse"),
        ({"fields": [{"group": "v", "parameter": "nope", "unit": "pH"}]}, "not a catalogue parameter"),
        ({"checksum": {"kind": "md5"}}, "unknown checksum"),
        ({"source": ""}, "at least 1 character"),
    ],
)
def test_template_mistakes_are_named(tmp_path: Path, changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        validate(tmp_path / "t.toml", _template(**changes), Template)


def test_a_template_by_name_by_path_or_inline(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\nsource = "s"\npattern = "V=(?P<v>.*)"\nrecord = "V={v}"\n'
                    '[[fields]]\ngroup = "v"\nparameter = "ph"\nunit = "pH"\n')  # fmt: skip
    device = '[[devices]]\nname = "{n}"\nprotocol = "ascii_template"\n'
    device += 'link = {{type = "tcp", host = "h", port = {p}}}\n'
    text = HEAD
    for i, ref in enumerate(('"vaisala-wxt520"', '"mine.toml"', f'"{path}"')):
        text += device.format(n=f"d{i}", p=i + 1) + f"template = {ref}\n"
    inline = path.read_text().replace("[[fields]]", "[[devices.template.fields]]")
    text += device.format(n="d3", p=9) + "[devices.template]\n" + inline
    (tmp_path / "edge.toml").write_text(text)
    cfg = load(tmp_path / "edge.toml", EdgeConfig)
    assert [d.template.name for d in cfg.devices if d.template] == ["vaisala-wxt520", "mine", "mine", "mine"]
    assert [d.connection.gap for d in cfg.devices] == [0.02] * 4


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('template = "no-such-template"', "no shipped ascii template 'no-such-template' (shipped: spl1"),
        ('template = "missing.toml"', "file not found"),
        ('profile = "p.toml"', "an ascii_template device names its template (and no profile)"),
        ('template = "spl1-water-five"\nunit = 300', "255"),
    ],
)
def test_template_device_mistakes(tmp_path: Path, body: str, reason: str) -> None:
    (tmp_path / "edge.toml").write_text(
        HEAD + '[[devices]]\nname = "a"\nprotocol = "ascii_template"\n'
        f'link = {{type = "serial", port = "/dev/ttyUSB0"}}\n{body}\n'
    )
    with pytest.raises(ConfigError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path / "edge.toml", EdgeConfig)


def test_a_pushing_instrument_needs_its_line_alone(tmp_path: Path) -> None:
    device = '[[devices]]\nname = "{}"\nprotocol = "ascii_template"\n'
    device += 'link = {{type = "tcp", host = "h", port = 1}}\n'
    (tmp_path / "edge.toml").write_text(
        HEAD + device.format("a") + 'template = "vaisala-wxt520-auto"\n'
        + device.format("b") + 'template = "vaisala-wxt520"\n'
    )  # fmt: skip
    with pytest.raises(ConfigError, match="needs a line of its own"):
        load(tmp_path / "edge.toml", EdgeConfig)


def _instrument(template: Template, unit: int, *scenarios: Scenario) -> TemplateInstrument:
    model = StationModel.typical(WaterClass.III, 1)
    return TemplateInstrument("probe", template, model, unit, Board.of(scenarios))


def _record(inst: TemplateInstrument) -> bytes:
    at = utc_now()
    return inst.record(at, inst.effects(at))


def test_the_simulator_prints_records_its_template_reads() -> None:
    spl = parse(SPL1, _record(_instrument(SPL1, 3)), 3)
    assert spl.flag is Flag.N
    assert 6.0 < spl.raw["ph"] < 9.0
    wind = parse(WMT700, _record(_instrument(WMT700, 0)), None)
    assert wind.flag is Flag.N
    assert 0 < wind.raw["spd"] * 0.514444 < 20
    weather = parse(WXT, _record(_instrument(WXT, 2)), 2)
    assert 950 < weather.raw["pa"] < 1050


def test_scenarios_print_status_refusals_and_garbled_checksums() -> None:
    fault = parse(SPL1, _record(_instrument(SPL1, 3, Fault(kind="fault", name="f", active=True))), 3)
    assert fault.flag is Flag.D
    service = _instrument(SPL1, 3, Maintenance(kind="maintenance", name="m", active=True))
    assert parse(SPL1, _record(service), 3).flag is Flag.M
    invalid = _instrument(WMT700, 0, Fault(kind="fault", name="f", active=True))
    assert parse(WMT700, _record(invalid), 0).flag is Flag.D  # status V
    busy = _instrument(SPL1, 3, ModbusException(kind="exception", name="e", code=6, active=True))
    assert _record(busy) == frame("3,ER,E6")
    with pytest.raises(DeviceChecksumError):
        parse(SPL1, garble(SPL1, _record(_instrument(SPL1, 3))), 3)


async def test_a_line_answers_only_its_instruments_requests() -> None:
    line = TemplateLine([_instrument(SPL1, 3)], baudrate=115200)
    heard: list[bytes] = []
    printed = asyncio.Event()

    def hear(data: bytes) -> None:
        heard.append(data)
        printed.set()

    line._writers.append(hear)  # no pty needed to see what it prints
    task = asyncio.create_task(line._speak())
    line.feed(b"\xff" + frame("4,RD") + b"$3,RD*00\r\n")  # another address, a wrong checksum: silence
    line.feed(b"noise" + frame("3,RD")[:4])
    line.feed(frame("3,RD")[4:])
    async with asyncio.timeout(2):
        await printed.wait()
    await asyncio.sleep(0.2)  # time for a second record, which must not come
    task.cancel()
    assert len(heard) == 1
    assert parse(SPL1, heard[0], 3).flag is Flag.N


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["edge.ascii.example.toml", "sim.ascii.example.toml"])
def test_stationpipe_check_accepts_the_ascii_examples(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stationpipe", "check", str(ROOT / "deploy/config" / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ok {ROOT / 'deploy/config' / name}" in result.stderr


def test_the_commented_inline_template_of_the_example_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "deploy/config/edge.ascii.example.toml").read_text()
    inline = text[text.index('# [[devices]]\n# name = "turbidity"') :]
    uncommented = "\n".join(line.removeprefix("# ") for line in inline.splitlines())
    (tmp_path / "edge.toml").write_text(HEAD + uncommented + "\n")
    model = check_file(tmp_path / "edge.toml")
    assert isinstance(model, EdgeConfig)
    template = model.devices[0].template
    assert template is not None
    assert template.request_bytes(7) == b"#07R\r"
    record = template.render(7, {"turb": 12.5}, "02")
    assert parse(template, record, 7).flag is Flag.M
