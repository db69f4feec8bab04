"""``stationpipe edge --test`` (stationpipe.edge.oneshot): the printed records, the exit code, the overall
cap, the steps, a pushed device waiting for its first input, and the command line's exit 2."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from stationpipe.edge.cli import app
from stationpipe.edge.config import EdgeConfig, Line
from stationpipe.edge.drivers import Poll, Reader
from stationpipe.edge.drivers.gnss import GnssDriver
from stationpipe.edge.nmea import Fix
from stationpipe.edge.oneshot import Outcome, exit_code, failures, json_lines, read_once, record, table
from stationpipe.edge.steps import Step
from stationpipe.kernel.errors import DeviceError
from stationpipe.kernel.reading import Flag, Reading, utc_now

T0 = datetime(2026, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)


def _reading(parameter: str, value: float | None, flag: Flag = Flag.N, unit: str = "mg/L") -> Reading:
    return Reading("st-1", parameter, value, unit, T0, flag)


# --- output and exit code -------------------------------------------------------------------------------


def test_a_record_has_every_field_and_null_for_no_value() -> None:
    assert record("sonde", _reading("do", 7.5)) == {
        "station": "st-1",
        "device": "sonde",
        "parameter": "do",
        "value": 7.5,
        "unit": "mg/L",
        "flag": "N",
        "ts": "2026-05-01T08:00:00.250000Z",
    }
    assert record("sonde", _reading("do", None, Flag.B))["value"] is None


def test_json_lines_one_per_reading_in_device_order_unicode_kept() -> None:
    outcomes = [
        Outcome("a", [_reading("do", 7.5), _reading("pm25", 12.0, unit="µg/m³")]),
        Outcome("b", [_reading("ph", None, Flag.B)], ("b: cannot connect",), answered=False),
    ]
    lines = list(json_lines(outcomes))
    assert [(json.loads(x)["device"], json.loads(x)["parameter"]) for x in lines] == [
        ("a", "do"),
        ("a", "pm25"),
        ("b", "ph"),
    ]
    assert "µg/m³" in lines[1]


def test_exit_code_and_failures() -> None:
    good = Outcome("a", [_reading("do", 7.5)])
    bad = Outcome("b", [_reading("ph", None, Flag.B)], ("b: cannot connect",), answered=False)
    assert exit_code([good]) == 0
    assert exit_code([good, bad]) == 1
    assert exit_code([]) == 0
    assert failures([good, bad]) == ["device b did not answer: b: cannot connect"]


def test_a_device_that_answered_with_bad_flags_is_not_a_failure() -> None:
    partly = Outcome("a", [_reading("do", None, Flag.B), _reading("ph", 7.1, Flag.D)])
    assert exit_code([partly]) == 0
    assert failures([partly]) == []


def test_the_table_shows_every_reading() -> None:
    console = Console(record=True, width=200)
    console.print(table([Outcome("a", [_reading("do", 7.5)]), Outcome("b", [_reading("ph", None, Flag.B)])]))
    text = console.export_text()
    assert "7.5" in text
    assert "ph" in text
    assert " B " in text


# --- read_once over the driver seam --------------------------------------------------------------------


@dataclass
class FakeReader:
    """A reader whose poll is scripted: answers, fails as a whole, or never finishes."""

    name: str
    behaviour: str
    interval: float = 1.0
    gate: asyncio.Event | None = None

    async def poll(self) -> Poll:
        if self.behaviour == "dead":
            errors = (DeviceError(f"{self.name}: cannot connect"),) * 2
            return Poll(self.unanswered(), errors, answered=False)
        if self.behaviour == "hangs":
            await asyncio.Event().wait()
        return Poll([_reading("do", 7.5)])

    async def read_once(self) -> Poll:
        if self.gate is not None:  # a pushed device: its first input comes from its driver's run()
            await self.gate.wait()
        return await self.poll()

    def unanswered(self) -> list[Reading]:
        return [Reading("st-1", "do", None, "mg/L", utc_now(), Flag.B)]


@dataclass
class FakeDriver:
    devices: list[FakeReader]
    pushes: bool = False
    closed: bool = False
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def readers(self) -> list[Reader]:
        if self.pushes:
            for reader in self.devices:
                reader.gate = self.gate
        return list(self.devices)

    async def run(self) -> None:
        if self.pushes:
            await asyncio.sleep(0.01)
            self.gate.set()
            await asyncio.Event().wait()  # runs until cancelled

    def close(self) -> None:
        self.closed = True


class FlagB:
    """A step that flags device ``b``'s readings D."""

    def apply(self, device: str, readings: list[Reading]) -> list[Reading]:
        if device != "b":
            return readings
        return [Reading(r.station, r.parameter, r.value, r.unit, r.ts, Flag.D) for r in readings]


async def test_read_once_reports_each_device_and_applies_the_steps() -> None:
    drivers = [
        FakeDriver([FakeReader("a", "answers"), FakeReader("dead", "dead")]),
        FakeDriver([FakeReader("b", "answers")], pushes=True),
    ]
    steps: list[Step] = [FlagB()]
    outcomes = await asyncio.wait_for(read_once(drivers, steps, cap=5.0), 5)
    by_name = {o.device: o for o in outcomes}
    assert [o.device for o in outcomes] == ["a", "dead", "b"]
    assert by_name["a"].answered
    assert by_name["a"].readings[0].flag is Flag.N
    assert by_name["b"].readings[0].flag is Flag.D  # the step applied; b's value came through its driver
    assert not by_name["dead"].answered
    assert by_name["dead"].errors == ("dead: cannot connect",)  # the same error once
    assert exit_code(outcomes) == 1


async def test_a_device_still_reading_at_the_cap_did_not_answer() -> None:
    drivers = [FakeDriver([FakeReader("a", "answers"), FakeReader("slow", "hangs")])]
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await asyncio.wait_for(read_once(drivers, [], cap=0.2), 5)
    assert loop.time() - started < 2
    slow = outcomes[1]
    assert not slow.answered
    assert [r.flag for r in slow.readings] == [Flag.B]
    assert "no complete poll within 0.2 s" in slow.errors[0]
    assert outcomes[0].answered


# --- the GNSS receiver's one-shot read -----------------------------------------------------------------


def _gnss_config(tmp_path: Path) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "station": "st-1",
            "state_dir": str(tmp_path / "state"),
            "mqtt": {"client_id": "x"},
            "devices": [
                {
                    "name": "sonde",
                    "profile": "water_five",
                    "transport": {"host": "127.0.0.1", "port": 1},
                }
            ],
            "gnss": {
                "port": str(tmp_path / "no-such-tty"),
                "interval": 0.1,
                "max_age": 0.2,
                "fence": {"lat": 30.25, "lon": 120.16},
            },
        }
    )


def _gnss(tmp_path: Path) -> GnssDriver:
    cfg = _gnss_config(tmp_path)
    line = next(line for line in cfg.lines() if line.connection.protocol == "nmea")
    assert isinstance(line, Line)
    return GnssDriver(cfg, line)


async def test_gnss_read_once_waits_for_a_fix(tmp_path: Path) -> None:
    driver = _gnss(tmp_path)
    (reader,) = driver.readers()
    reading = asyncio.create_task(reader.read_once())
    await asyncio.sleep(0)
    driver._take(Fix(30.25, 120.16, 0.0, True, utc_now()))
    poll = await asyncio.wait_for(reading, 5)
    assert poll.answered
    assert {r.parameter: r.flag for r in poll.readings}["gnss_lat"] is Flag.N


async def test_gnss_read_once_without_a_sentence_did_not_answer(tmp_path: Path) -> None:
    (reader,) = _gnss(tmp_path).readers()
    poll = await asyncio.wait_for(reader.read_once(), 5)
    assert not poll.answered
    assert {r.flag for r in poll.readings} == {Flag.B}
    assert "no NMEA sentence within 0.2 s" in str(poll.errors[0])


async def test_gnss_sentences_without_a_fix_answer_with_b_readings(tmp_path: Path) -> None:
    driver = _gnss(tmp_path)
    (reader,) = driver.readers()
    driver._take(Fix(None, None, None, False, utc_now()))
    poll = await asyncio.wait_for(reader.read_once(), 5)
    assert poll.answered
    assert {r.flag for r in poll.readings} == {Flag.B}


# --- the command line -----------------------------------------------------------------------------------


def test_a_bad_config_exits_2_with_file_key_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('kind = "edge"\nstation = "st-1"\nstate_dir = "state"\n[mqtt]\nclient_id = "x"\n')
    result = CliRunner().invoke(app, ["--config", str(path), "--test"])
    assert result.exit_code == 2
    assert "edge.toml" in result.output
    assert "devices" in result.output
    assert not (tmp_path / "state").exists()


def test_the_console_script_app_offers_test() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--test" in result.output
    assert "--test-timeout" in result.output
