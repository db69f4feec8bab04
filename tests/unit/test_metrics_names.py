"""One naming scheme: every metric a service exports is ``stationpipe_<component>_<name>``, and each says
its version in ``stationpipe_<component>_build_info`` (read from package metadata)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from stationpipe.collector.metrics import Metrics
from stationpipe.edge.metrics import EdgeMetrics
from stationpipe.kernel.metrics import ComponentMetrics, MetricsSettings, serving
from stationpipe.kernel.version import package_version
from stationpipe.rules.metrics import RulesMetrics


@pytest.mark.parametrize(
    ("make", "component"), [(EdgeMetrics, "edge"), (Metrics, "collector"), (RulesMetrics, "rules")]
)
def test_every_metric_is_named_after_its_component(
    make: Callable[[], ComponentMetrics], component: str
) -> None:
    metrics = make()
    names = [family.name for family in metrics.registry.collect()]
    assert len(names) > 1
    assert [n for n in names if not n.startswith(f"stationpipe_{component}_")] == []
    assert metrics.value(f"stationpipe_{component}_build_info", version=package_version()) == 1


def test_the_version_comes_from_package_metadata() -> None:
    from importlib.metadata import version  # noqa: PLC0415 - the very call under test

    assert package_version() == version("stationpipe")


def test_serving_exposes_the_registry_until_the_block_ends() -> None:
    metrics = RulesMetrics()
    metrics.readings.inc(3)
    with serving(metrics, MetricsSettings(port=0)) as port:
        assert port is not None
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "stationpipe_rules_readings_evaluated_total 3.0" in body
    assert f'stationpipe_rules_build_info{{version="{package_version()}"}} 1.0' in body
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_serving_nothing_without_settings() -> None:
    with serving(RulesMetrics(), None) as port:
        assert port is None
