"""``stationpipe hj212 decode|encode`` through typer's CliRunner, against ``hj212_app`` directly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from stationpipe.hj212 import CpArea, DataSegment, FactorValue, decode, encode
from stationpipe.hj212.cli import hj212_app
from stationpipe.hj212.frame import wrap

VECTOR = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
)
VECTOR_FRAME = b"##0101" + VECTOR + b"1C80\r\n"
UPLOAD = encode(
    DataSegment(
        st="21",
        cn="2011",
        qn="20160801085857223",
        pw="123456",
        mn="AB12",
        flag=5,
        cp=CpArea(
            params=(),
            factors=(
                FactorValue("w01001", rtd=7.12, flag="N"),
                FactorValue(
                    "w21003", avg=0.35, min=0.3, max=0.4, cou=12.0, flag="D", extra=(("ZsRtd", "1"),)
                ),
            ),
        ),
    )
)

runner = CliRunner()


def test_decode_prints_protocol_field_names() -> None:
    result = runner.invoke(hj212_app, ["decode"], input=VECTOR_FRAME + UPLOAD)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {
        "QN": "20160801085857223",
        "ST": "32",
        "CN": "1062",
        "PW": "100000",
        "MN": "010000A8900016F000169DC0",
        "Flag": 5,
        "CP": {"RtdInterval": "30"},
        "crc_ok": True,
    }
    assert lines[1]["CP"] == {
        "w01001": {"Rtd": 7.12, "Flag": "N"},
        "w21003": {"Avg": 0.35, "Min": 0.3, "Max": 0.4, "Cou": 12, "Flag": "D", "ZsRtd": "1"},
    }


def test_decode_data_time() -> None:
    raw = wrap(b"ST=21;CN=2011;CP=&&DataTime=20160801085857;w01001-Rtd=7&&")
    result = runner.invoke(hj212_app, ["decode"], input=raw)
    assert json.loads(result.stdout) == {
        "ST": "21",
        "CN": "2011",
        "CP": {"DataTime": "20160801085857", "w01001": {"Rtd": 7.0}},
        "crc_ok": True,
    }


def test_decode_accepts_bare_newlines_and_blank_lines() -> None:
    result = runner.invoke(
        hj212_app, ["decode"], input=b"\n" + VECTOR_FRAME.replace(b"\r\n", b"\n") + b"\n\n"
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"hello", "line 1: frame must start with '##'"),
        (b"##0100" + VECTOR + b"1C80", "line 1: length field says 0100"),
        (b"##0101" + VECTOR + b"1CZ0", "line 1: CRC field"),
        (b"##0010ST=21;CN=1A8DE", "line 1: CP=&&"),
    ],
)
def test_decode_reports_undecodable_frames(line: bytes, words: str) -> None:
    result = runner.invoke(hj212_app, ["decode"], input=line + b"\r\n" + VECTOR_FRAME)
    assert result.exit_code == 1
    assert words in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the good frame after it is still decoded


def test_decode_prints_a_bad_crc_frame_with_crc_ok_false_and_fails() -> None:
    result = runner.invoke(hj212_app, ["decode"], input=VECTOR_FRAME.replace(b"1C80", b"1C81"))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["crc_ok"] is False
    assert "line 1: CRC mismatch: frame says 1C81, segment gives 1C80" in result.stderr


def test_encode_is_the_reverse_of_decode() -> None:
    decoded = runner.invoke(hj212_app, ["decode"], input=VECTOR_FRAME + UPLOAD)
    encoded = runner.invoke(hj212_app, ["encode"], input=decoded.stdout)
    assert encoded.exit_code == 0, encoded.output
    assert encoded.stdout_bytes == VECTOR_FRAME + UPLOAD


def test_encode_from_hand_written_json() -> None:
    obj = {
        "ST": "21",
        "CN": "2011",
        "MN": "X",
        "Flag": 5,
        "CP": {"DataTime": "20240101080000", "w01001": {"Rtd": 7}},
    }
    result = runner.invoke(hj212_app, ["encode"], input=json.dumps(obj) + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == wrap(
        b"ST=21;CN=2011;MN=X;Flag=5;CP=&&DataTime=20240101080000;w01001-Rtd=7&&"
    )


def test_encode_splits_long_payloads() -> None:
    cp = {f"w{i:05d}": {"Rtd": i * 1.25, "Flag": "N"} for i in range(80)}
    obj = {"QN": "20240101000000001", "ST": "21", "CN": "2011", "Flag": 5, "CP": cp}
    result = runner.invoke(hj212_app, ["encode"], input=json.dumps(obj) + "\n")
    assert result.exit_code == 0, result.output
    frames = [line + b"\n" for line in result.stdout_bytes.split(b"\n") if line]
    packets = [decode(frame).segment for frame in frames]
    assert len(packets) > 1
    assert [p.pno for p in packets] == list(range(1, len(packets) + 1))


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("not json", "line 1: not a JSON object"),
        ("[1, 2]", "line 1: expected a JSON object"),
        ('{"CN": "2011"}', "line 1: ST missing"),
        ('{"ST": "21", "CN": "2011", "Bogus": 1}', "unknown keys ['Bogus']"),
        ('{"ST": "21", "CN": "2011", "Flag": "x"}', "Flag: expected an integer"),
        (
            '{"ST": "21", "CN": "2011", "CP": {"w01001": {"Rtd": "abc"}}}',
            "CP.w01001.Rtd: expected a finite number",
        ),
        ('{"ST": "21", "CN": "2011", "CP": {"DataTime": "2024"}}', "DataTime"),
        ('{"ST": "21", "CN": "2011", "CP": {"w01001": {}}}', "factor w01001: no fields"),
        ('{"ST": "21", "CN": "2011", "MN": "a;b"}', "MN"),
    ],
)
def test_encode_reports_bad_input(line: str, words: str) -> None:
    result = runner.invoke(hj212_app, ["encode"], input=line + "\n")
    assert result.exit_code == 1
    assert words in result.stderr
    assert result.stdout == ""
