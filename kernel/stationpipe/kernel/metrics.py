"""The one way a service shows Prometheus metrics: a registry per component, one naming scheme, one server.

Every metric is named ``stationpipe_<component>_<name>`` (component ``edge``, ``collector`` or ``rules``;
Prometheus adds ``_total`` to counters), and every component exports
``stationpipe_<component>_build_info{version="…"} 1`` with the installed version. Each service builds its
metrics on a :class:`ComponentMetrics` (its own ``CollectorRegistry``, so tests can run several services in
one process) and serves them with :func:`serving` when its ``[metrics]`` table is configured.

CHANGELOG.md lists the names the collector and the rules engine used before this scheme.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server
from pydantic import Field

from stationpipe.kernel.config import Model
from stationpipe.kernel.version import package_version

log = logging.getLogger(__name__)
PREFIX = "stationpipe"


class MetricsSettings(Model):
    """Prometheus ``/metrics`` endpoint (loopback by default)."""

    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535, description="0 picks a free port (logged)")


class ComponentMetrics:
    """The registry of one component; ``counter``, ``gauge`` and ``histogram`` name what they make."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.registry = CollectorRegistry(auto_describe=True)
        build = Info(self.name("build"), "the installed stationpipe version", registry=self.registry)
        build.info({"version": package_version()})

    def name(self, short: str) -> str:
        """The full metric name of ``short``: ``stationpipe_<component>_<short>``."""
        return f"{PREFIX}_{self.component}_{short}"

    def counter(self, short: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        """A counter named after the component."""
        return Counter(self.name(short), doc, labels, registry=self.registry)

    def gauge(self, short: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        """A gauge named after the component."""
        return Gauge(self.name(short), doc, labels, registry=self.registry)

    def histogram(self, short: str, doc: str, buckets: Sequence[float]) -> Histogram:
        """A histogram named after the component."""
        return Histogram(self.name(short), doc, buckets=buckets, registry=self.registry)

    def value(self, name: str, **labels: str) -> float:
        """Current value of one sample by its full name (for tests and the bench); 0 when never set."""
        got = self.registry.get_sample_value(name, labels)
        return 0.0 if got is None else got


@contextlib.contextmanager
def serving(metrics: ComponentMetrics, settings: MetricsSettings | None) -> Iterator[int | None]:
    """Serve ``/metrics`` on a daemon thread while the block runs; yields the port (``None``: no settings)."""
    if settings is None:
        yield None
        return
    server, thread = start_http_server(settings.port, settings.host, registry=metrics.registry)
    port = int(server.server_port)
    log.info("%s metrics on http://%s:%d/metrics", metrics.component, settings.host, port)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
