"""The installed version of stationpipe, read from package metadata (typed once, in pyproject.toml)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "stationpipe"


@cache
def package_version() -> str:
    """The installed distribution's version; ``0+unknown`` from a checkout that was never installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
