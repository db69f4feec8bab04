"""``stationpipe hj212 decode|encode --version 2025 --key/--key-file`` through typer's CliRunner.

The frames are the standard's appendix A.2 examples (see tests/unit/test_hj212_2025.py for the source).
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stationpipe.hj212.cli import hj212_app
from stationpipe.hj212.frame import wrap
from tests.unit.test_hj212_2025 import A1_FRAME, A2_FRAME_2, A2_FRAME_4, KEY, MN, OTHER_KEY

runner = CliRunner()
KEY_HEX = KEY.hex()


def _decode(*args: str, frames: bytes = A2_FRAME_2 + A2_FRAME_4) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(hj212_app, ["decode", "--version", "2025", *args], input=frames)
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def test_decode_prints_the_decrypted_cp_and_says_it_was_encrypted() -> None:
    code, lines, stderr = _decode("--key", KEY_HEX, frames=A2_FRAME_2 + A2_FRAME_4 + A1_FRAME)
    assert code == 0, stderr
    assert [line["encrypted"] for line in lines] == [True, True, False]
    assert all(line["crc_ok"] for line in lines)
    assert lines[1] == {
        "QN": "20240520210700000",
        "ST": "31",
        "CN": "2051",
        "PW": "123456",
        "MN": MN,
        "Flag": 9,
        "CP": {
            "DataTime": "20240520210600",
            "a01011": {"Avg": 1.35, "Min": 1.35, "Max": 1.35, "Flag": "N"},
            "a01014": {"Avg": 3.2, "Min": 3.2, "Max": 3.2, "Flag": "N"},
        },
        "crc_ok": True,
        "encrypted": True,
    }


def test_a_wrong_key_is_an_error_on_stderr_and_never_data() -> None:
    code, lines, stderr = _decode("--key", OTHER_KEY.hex())
    assert code == 1
    assert lines == []
    assert stderr.count("wrong key") == 2
    assert OTHER_KEY.hex() not in stderr
    assert KEY_HEX not in stderr


def test_an_encrypted_frame_without_a_key_is_an_error() -> None:
    code, lines, stderr = _decode()
    assert code == 1
    assert lines == []
    assert "no key is configured" in stderr


def test_a_malformed_key_is_a_usage_error_that_does_not_show_it() -> None:
    for bad in ("3030", KEY_HEX + "00", "zz" * 16):
        result = runner.invoke(hj212_app, ["decode", "--version", "2025", "--key", bad], input=A2_FRAME_2)
        assert result.exit_code == 2
        assert bad not in result.output
        assert "32 hex digits" in result.output


def test_keys_are_refused_for_2017_and_twice() -> None:
    result = runner.invoke(hj212_app, ["decode", "--key", KEY_HEX], input=A1_FRAME)
    assert result.exit_code == 2
    assert "--version 2025" in result.output
    result = runner.invoke(
        hj212_app, ["decode", "--version", "2025", "--key", KEY_HEX, "--key-file", "k"], input=A1_FRAME
    )
    assert result.exit_code == 2


def test_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# station 1\n{MN}={KEY_HEX}\n", encoding="utf-8")
    code, lines, stderr = _decode("--key-file", str(path))
    assert code == 0, stderr
    assert [line["encrypted"] for line in lines] == [True, True]
    path.write_text(f"{MN}={KEY_HEX[:30]}\n", encoding="utf-8")
    result = runner.invoke(
        hj212_app, ["decode", "--version", "2025", "--key-file", str(path)], input=A1_FRAME
    )
    assert result.exit_code == 2
    assert "line 1" in result.output
    assert KEY_HEX[:30] not in result.output
    missing = runner.invoke(
        hj212_app, ["decode", "--version", "2025", "--key-file", str(tmp_path / "none")], input=A1_FRAME
    )
    assert missing.exit_code == 2


def test_encode_encrypts_and_decode_reads_it_back() -> None:
    _, lines, _ = _decode("--key", KEY_HEX)
    obj = {**lines[0], "RF": 1}
    result = runner.invoke(
        hj212_app, ["encode", "--version", "2025", "--key", KEY_HEX], input=json.dumps(obj)
    )
    assert result.exit_code == 0, result.stderr
    frame = result.stdout_bytes
    assert b";RF=1;CP=&&{0xE4,0x3E," in frame
    assert frame.endswith(b"\r\n")
    code, again, stderr = _decode("--key", KEY_HEX, frames=frame)
    assert code == 0, stderr
    assert again == [{**obj, "crc_ok": True, "encrypted": True}]


def test_encode_without_a_key_writes_plaintext_2025() -> None:
    obj = {"ST": "21", "CN": "2011", "Flag": 5, "CP": {"w01001": {"Rtd": 7.5}}}
    result = runner.invoke(hj212_app, ["encode", "--version", "2025"], input=json.dumps(obj))
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == wrap(b"ST=21;CN=2011;Flag=9;CP=&&w01001-Rtd=7.5&&")  # Flag: version 2025


def test_rf_is_refused_by_the_2017_encoder() -> None:
    obj = {"ST": "21", "CN": "2011", "RF": 1, "CP": {}}
    result = runner.invoke(hj212_app, ["encode"], input=json.dumps(obj))
    assert result.exit_code == 1
    assert "HJ 212-2017 has no RF" in result.stderr
    result = runner.invoke(hj212_app, ["encode", "--version", "2025"], input=json.dumps({**obj, "RF": 0}))
    assert result.exit_code == 1
    assert "only RF=1" in result.stderr
