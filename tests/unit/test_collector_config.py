"""Collector configuration: the keys of issue 5, their checks, and the deploy example."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationpipe.cli import check_file
from stationpipe.collector.config import CollectorConfig
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "collector.example.toml"
_HEAD = 'kind = "collector"\n[mqtt]\nclient_id = "c"\n'


def _load(tmp_path: Path, text: str, top: str = "") -> CollectorConfig:
    path = tmp_path / "collector.toml"
    path.write_text(top + _HEAD + text)
    return load(path, CollectorConfig)


def test_defaults_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    cfg = _load(tmp_path, '[influx]\nurl = "http://127.0.0.1:8086"\ndatabase = "d"\n')
    assert cfg.state_dir == tmp_path / "collector-state"
    assert (cfg.influx.api, cfg.batch.max_messages, cfg.metrics, cfg.registry) == ("v1", 500, None, None)


def test_v2_needs_org_and_bucket_and_reads_the_token_from_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs org and bucket"):
        _load(tmp_path, '[influx]\napi = "v2"\nurl = "http://h:8086"\norg = "o"\n')
    (tmp_path / "token").write_text("s3cret\n")
    cfg = _load(
        tmp_path,
        '[influx]\napi = "v2"\nurl = "http://h:8086"\norg = "o"\nbucket = "b"\n'
        'token_file = "token"\n[metrics]\nport = 9108\n',
        top='registry = "reg.toml"\n',
    )
    token = cfg.influx.token()
    assert token is not None
    assert token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(cfg)
    assert cfg.registry == tmp_path / "reg.toml"
    assert cfg.metrics is not None
    assert (cfg.metrics.host, cfg.metrics.port) == ("127.0.0.1", 9108)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[influx]\nurl = "http://h:8086"\n', "influx"),
        ('[influx]\nurl = "http://h:8086"\ndatabase = "d"\n[spool]\nmax_mb = 0\n', "spool.max_mb"),
        ('[influx]\nurl = "http://h:8086"\ndatabase = "d"\n[batch]\nmax_mesages = 1\n', "batch.max_mesages"),
        ('[influx]\nurl = "http://h:8086"\ndatabase = "d"\ntoken_env = "NOPE_NOT_SET_X"\n', "influx"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    assert caught.value.path == where


def test_the_deploy_example_is_valid() -> None:
    assert isinstance(check_file(EXAMPLE), CollectorConfig)
