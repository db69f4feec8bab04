"""Rules configuration, reload after validation, the webhook signature and ``rules test``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.partition import Partition
from stationpipe.rules.channels.webhook import sign
from stationpipe.rules.cli import rules_app
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.durations import parse_duration
from stationpipe.rules.reload import try_reload
from tests.unit.rules_helpers import REGISTRY, T0, config

RULES = """kind = "rules"
registry = "registry.toml"
state = "state.sqlite3"
[mqtt]
client_id = "rules-1"
[[rules]]
name = "section"
kind = "section"
for = "{for_}"
"""


def write(tmp: Path, for_: str = "0s") -> Path:
    (tmp / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    path = tmp / "rules.toml"
    path.write_text(RULES.replace("{for_}", for_), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h30m", 5400), ("1d", 86400), (5, 5)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_bad_duration_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, "soon"), RulesConfig)
    assert "rules[0]" in str(exc.value)
    assert "for" in str(exc.value)


def test_duplicate_rule_names_and_partition_range(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="appears twice"):
        config(tmp_path, [{"name": "a", "kind": "flatline"}, {"name": "a", "kind": "flatline"}])
    with pytest.raises(ValidationError, match="index must be < count"):
        Partition(count=2, index=2)


def test_partition_gives_each_station_one_engine(tmp_path: Path) -> None:
    registry = config(tmp_path, []).load_registry()
    owners = [[i for i in range(3) if Partition(count=3, index=i).owns(s.id)] for s in registry.stations]
    assert all(len(o) == 1 for o in owners)
    cfg = config(tmp_path, [], partition={"count": 3, "index": owners[0][0]})
    assert cfg.topics(registry)[0] == f"$share/rules-p{owners[0][0]}/stations/w1/readings"


def test_reload_keeps_old_rules_on_a_bad_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path)
    applied: list[RulesConfig] = []
    assert try_reload(path, applied.append)
    path.write_text(path.read_text().replace('kind = "section"', 'kind = "sectoin"'))
    assert not try_reload(path, applied.append)
    assert len(applied) == 1
    assert "keeping the old rules" in caplog.text
    assert "rules[0]" in caplog.text


def test_webhook_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"id":"x"}'
    assert sign(b"k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


def test_rules_test_command_replays_data(tmp_path: Path) -> None:
    path = write(tmp_path)
    data = tmp_path / "data.jsonl"
    lines = []
    for i, v in enumerate([0.5, 1.2, 0.4]):
        ts = (T0 + timedelta(hours=i)).isoformat().replace("+00:00", "Z")
        lines.append(
            json.dumps(
                {
                    "v": 1,
                    "station": "w1",
                    "device": "d",
                    "seq": i,
                    "ts": ts,
                    "readings": {"nh3n": {"value": v, "unit": "mg/L", "flag": "N"}},
                }
            )
        )
    data.write_text("# recorded\n" + "\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(rules_app, ["test", "--rules", str(path), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [(o["change"], o["level"]) for o in out] == [("firing", 2), ("resolved", 2)]
    data.write_text("{not json\n", encoding="utf-8")
    bad = CliRunner().invoke(rules_app, ["test", "--rules", str(path), "--data", str(data)])
    assert bad.exit_code == 2


@pytest.mark.parametrize("value", [1e300, float("inf"), float("nan"), "99999999999999999999d"])
def test_absurd_durations_are_refused_with_a_reason(value: object) -> None:
    with pytest.raises(ValueError, match=r"duration|longer"):
        parse_duration(value)
