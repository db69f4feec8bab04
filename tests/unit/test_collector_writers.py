"""The writer table: every row names a class that builds a ``Writer`` from its settings, the configured
type picks it, and the writers' modules stay out of the process until one is configured."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from stationpipe.collector.config import InfluxSettings
from stationpipe.collector.writers import WRITERS, factory, make_writer
from stationpipe.collector.writers.base import Writer
from stationpipe.collector.writers.influx_v1 import V1Writer

_SETTINGS: dict[str, dict[str, Any]] = {
    "v1": {"api": "v1", "url": "http://influx.invalid:8086", "database": "db"},
    "v2": {"api": "v2", "url": "http://influx.invalid:8086", "org": "o", "bucket": "b"},
}


def test_every_configurable_type_has_a_row() -> None:
    assert set(WRITERS) == set(_SETTINGS)


@pytest.mark.parametrize("kind", sorted(WRITERS))
async def test_each_row_builds_a_writer_of_its_type(kind: str) -> None:
    settings = InfluxSettings.model_validate(_SETTINGS[kind])
    writer = make_writer(settings)
    try:
        assert isinstance(writer, Writer)
        assert type(writer) is factory(kind)
    finally:
        await writer.aclose()


def test_the_v1_row_is_the_v1_writer() -> None:
    assert factory("v1") is V1Writer


def test_influxdb_client_is_imported_only_when_v2_is_configured() -> None:
    code = (
        "import sys; from stationpipe.collector import service; "
        "from stationpipe.collector.writers import factory; factory('v1'); "
        "print('influxdb_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
