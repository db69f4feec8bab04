"""Shared fixtures: real Mosquitto and InfluxDB for the integration tests (started once per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stationpipe.testbed.services import Services, running_services


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Mosquitto and InfluxDB on free loopback ports, data in a temporary folder, stopped at the end."""
    with running_services() as svc:
        yield svc
