"""Bavarian-Hessen: BCC and framing golden cases from the vendors' manuals, value encoding, the DA reply of
real analysers (docs/domain.md "Bavarian-Hessen" names the sources), status and error bytes to flags,
the simulated analyser's answers, channel profiles and configuration errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.hessen import Channel, parse_reply, request
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError, DeviceChecksumError, DeviceError
from stationpipe.kernel.hessen import STATUS_FLAGS, bcc, format_value, frame, parse_value, unframe
from stationpipe.kernel.reading import Flag, utc_now
from stationpipe.kernel.registermap import Profile, load_profile
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.board import Board
from stationpipe.simulators.hessen import addressed, garble, reply_text, status_bytes
from stationpipe.simulators.instrument import Instrument
from stationpipe.simulators.model import StationModel
from stationpipe.simulators.scenarios import Calibration, Fault, Maintenance, Scenario

NOX = "nox_hessen"
#: A Met One BAM-1020's DA reply, eleven channels (a public capture; docs/domain.md).
BAM_1020 = (
    "MD11 001 -1500-02 82 00 001 000000 002 +7116-01 82 00 001 000000 003 +7015-01 82 00 001 000000 "
    "004 -4065-03 82 00 001 000000 005 +7976-01 82 00 001 000000 006 +0000+00 82 40 001 000000 "
    "007 +3238-02 82 00 001 000000 008 +2099+01 82 00 001 000000 009 +5352+01 82 00 001 000000 "
    "010 +7595+02 82 00 001 000000 011 +0000+00 82 00 001 000000 "
)


@pytest.mark.parametrize(
    ("text", "check"),
    [("DA097", "3A"), ("ST843 K", "52")],  # the Ecotech Serinus manuals' worked examples
)
def test_bcc_is_the_xor_from_stx_to_etx_as_two_hex_digits(text: str, check: str) -> None:
    assert bcc(b"\x02" + text.encode() + b"\x03") == check
    assert frame(text) == b"\x02" + text.encode() + b"\x03" + check.encode()


def test_the_da_request_carries_a_three_digit_id_or_none() -> None:
    assert request(97) == b"\x02DA097\x033A"
    assert request(None) == frame("DA")
    with pytest.raises(ValueError, match="three digits"):
        request(1000)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("+7595+02", 759.5),
        ("-1500-02", -0.015),
        ("+2099+01", 20.99),
        ("+0000+00", 0.0),
        ("-4065-03", -0.004065),
    ],
)
def test_values_are_a_mantissa_with_one_integer_digit_and_a_power_of_ten(text: str, value: float) -> None:
    assert parse_value(text) == pytest.approx(value, rel=1e-12)
    assert format_value(value) == text if value else format_value(value) == "+0000+00"


@pytest.mark.parametrize("value", [1.0, 12.345, 0.0123, 987654.0, -3.2, 1e-9])
def test_format_then_parse_keeps_four_significant_digits(value: float) -> None:
    assert parse_value(format_value(value)) == pytest.approx(value, rel=5e-4)


@pytest.mark.parametrize("bad", ["7595+02", "+759+02", "+7595+2", "+75a5+02", ""])
def test_a_value_not_of_the_form_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Bavarian-Hessen value"):
        parse_value(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1e120])
def test_values_without_a_form_cannot_be_sent(bad: float) -> None:
    with pytest.raises(ValueError, match="Bavarian-Hessen"):
        format_value(bad)


def test_unframe_skips_line_noise_and_checks_the_bcc() -> None:
    assert unframe(b"\xff\x00junk" + frame("MD00 ")) == "MD00 "
    with pytest.raises(DeviceChecksumError, match="BCC mismatch"):
        unframe(garble(frame("MD00 ")))
    with pytest.raises(DeviceError, match="not a Bavarian-Hessen telegram"):
        unframe(b"\x02MD00 \x03")  # BCC missing
    with pytest.raises(DeviceError, match="non-ASCII"):
        unframe(b"\x02MD\xe900\x03" + b"00")


def test_a_bam_1020_reply_gives_eleven_channels_with_status_and_error_bytes() -> None:
    channels = parse_reply(frame(BAM_1020))
    assert [c.number for c in channels] == list(range(1, 12))
    assert channels[9] == Channel(10, 759.5, 0x82, 0x00)
    assert channels[0].value == pytest.approx(-0.015)
    assert channels[5].error == 0x40
    assert {c.status for c in channels} == {0x82}


def test_the_serinus_reply_shapes_parse() -> None:
    s10 = parse_reply(frame("MD01 097 +1234+01 00 00000 00000000 "))  # ff glued to {000}
    assert s10 == [Channel(97, 12.34, 0, 0)]
    s40 = parse_reply(frame("MD02 097 +1234+01 00 00 00000000 098 +5678+00 04 00 00000000 "))
    assert s40 == [Channel(97, 12.34, 0, 0), Channel(98, 5.678, 4, 0)]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("MD02 001 +1000+00 00 00 ", "announces 2 channels, carries 1"),
        ("XY01 001 +1000+00 00 00 ", "not a DA reply"),
        ("MD01 001 +1000+00 0Z 00 ", "status/error"),
    ],
)
def test_malformed_replies_are_device_errors(text: str, match: str) -> None:
    with pytest.raises(DeviceError, match=match):
        parse_reply(frame(text))


@pytest.mark.parametrize(
    ("status", "error", "flag"),
    [
        (0x00, 0x00, Flag.N),
        (0x40, 0x00, Flag.N),  # units volumetric: no flag
        (0x01, 0x00, Flag.F),  # instrument off
        (0x02, 0x00, Flag.M),  # out of service
        (0x04, 0x00, Flag.C),  # zero mode
        (0x08, 0x00, Flag.C),  # span mode
        (0x80, 0x00, Flag.C),  # background check
        (0x06, 0x00, Flag.C),  # calibration outranks maintenance
        (0x02, 0x10, Flag.D),  # any error bit: fault, whatever the status
    ],
)
def test_status_and_error_bytes_become_flags(status: int, error: int, flag: Flag) -> None:
    assert Channel(1, 1.0, status, error).flag() is flag


def test_a_profile_may_map_the_status_bits_its_own_way() -> None:
    bam = Channel(1, 1.0, 0x82, 0)
    assert bam.flag() is Flag.C
    assert bam.flag({}) is Flag.N
    assert bam.flag({1: Flag.M}) is Flag.M


def _analyser(*scenarios: Scenario, unit: int = 1) -> Instrument:
    model = StationModel.typical(WaterClass.II, 1)
    return Instrument("nox", load_profile(NOX), model, unit, Board.of(scenarios))


def test_the_simulated_analyser_answers_with_every_channel() -> None:
    inst = _analyser()
    at = utc_now()
    channels = parse_reply(frame(reply_text(inst, at, inst.effects(at))))
    assert [c.number for c in channels] == [1, 2, 3]
    assert all(c.flag(inst.profile.channel_status) is Flag.N for c in channels)
    assert all(0 <= c.value < 500 for c in channels)  # ppb; NO is clipped at 0 in the evening (China time)


@pytest.mark.parametrize(
    ("scenario", "flag"),
    [
        (Maintenance(name="m", kind="maintenance", active=True), Flag.M),
        (Calibration(name="c", kind="calibration", active=True), Flag.C),
        (Fault(name="f", kind="fault", active=True), Flag.D),
    ],
)
def test_scenarios_set_the_status_bit_their_flag_maps_to(scenario: Scenario, flag: Flag) -> None:
    inst = _analyser(scenario)
    at = utc_now()
    effects = inst.effects(at)
    assert (status_bytes(inst, effects)[1] != 0) is (flag is Flag.D)
    channels = parse_reply(frame(reply_text(inst, at, effects)))
    assert {c.flag(inst.profile.channel_status) for c in channels} == {flag}


def test_only_the_addressed_analyser_answers_a_valid_request() -> None:
    one, two = _analyser(unit=1), _analyser(unit=2)
    assert addressed({1: one, 2: two}, request(2)) is two
    assert addressed({1: one, 2: two}, request(3)) is None
    assert addressed({1: one, 2: two}, request(None)) is None  # who would answer?
    assert addressed({1: one}, request(None)) is one
    assert addressed({1: one}, garble(request(1))) is None  # a bad BCC is not answered
    assert addressed({1: one}, frame("ST001 M")) is None


NO2_ON_1 = '[[points]]\nparameter = "no2"\nchannel = 1\nunit = "ppb"\n'


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(f'kind = "profile"\nname = "p"\n{body}')
    return path


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('[[points]]\nparameter = "no2"\nchannel = 1\naddress = 0\nunit = "ppb"\n', "not both"),
        (
            NO2_ON_1 + '[[points]]\nparameter = "so2"\naddress = 0\nunit = "ppb"\n',
            "every point a channel",
        ),
        (
            NO2_ON_1 + '[[points]]\nparameter = "so2"\nchannel = 1\nunit = "ppb"\n',
            "unique",
        ),
        ('channel_status = {1 = "M"}\n[[points]]\nparameter = "no2"\naddress = 0\nunit = "ppb"\n', "channel"),
        ('channel_status = {8 = "M"}\n[[points]]\nparameter = "no2"\nchannel = 1\nunit = "ppb"\n', "0-7"),
        ('[[points]]\nparameter = "no2"\nchannel = 1000\nunit = "ppb"\n', "999"),
    ],
)
def test_channel_profiles_are_checked(tmp_path: Path, body: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_profile(_profile(tmp_path, body))


def test_the_shipped_channel_profile_loads() -> None:
    profile = load_profile(NOX)
    assert isinstance(profile, Profile)
    assert profile.by_channel
    assert [(p.parameter, p.channel) for p in profile.points] == [("no", 1), ("no2", 2), ("nox", 3)]
    assert profile.channel_status == STATUS_FLAGS


EDGE = """
kind = "edge"
station = "s1"
state_dir = "state"
[mqtt]
client_id = "edge-s1"
[[devices]]
name = "nox"
profile = "{profile}"
protocol = "{protocol}"
link = {{type = "serial", port = "/dev/ttyS1"}}
unit = {unit}
"""


def _edge(tmp_path: Path, profile: str, protocol: str, unit: int) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(EDGE.format(profile=profile, protocol=protocol, unit=unit))
    return path


def test_a_hessen_device_with_a_channel_profile_and_a_three_digit_id_is_valid(tmp_path: Path) -> None:
    cfg = load(_edge(tmp_path, NOX, "hessen", 999), EdgeConfig)
    cfg.verify(tmp_path / "edge.toml")
    assert cfg.devices[0].connection.line == "hessen+serial:///dev/ttyS1"
    assert cfg.devices[0].connection.gap == 0.05


@pytest.mark.parametrize(
    ("profile", "protocol", "unit", "match"),
    [
        ("air_station", "hessen", 1, "points name channels"),
        (NOX, "modbus_rtu", 1, "register points, not channels"),
        (NOX, "modbus_rtu", 300, "0-255"),
    ],
)
def test_configuration_errors_name_the_device(
    tmp_path: Path, profile: str, protocol: str, unit: int, match: str
) -> None:
    path = _edge(tmp_path, profile, protocol, unit)
    with pytest.raises(ConfigError, match=match):
        load(path, EdgeConfig).verify(path)
