"""Writers: where the collector's batches go. One protocol, one table, one file per writer.

=====  ==============================================  ============================================
type   writer                                          speaks
=====  ==============================================  ============================================
v1     :mod:`~stationpipe.collector.writers.influx_v1`  InfluxDB ``/write`` (1.x; 2.x/3.x compat.)
v2     :mod:`~stationpipe.collector.writers.influx_v2`  InfluxDB ``/api/v2/write`` (influxdb-client)
=====  ==============================================  ============================================

The type is the configured ``[influx] api``. :mod:`~stationpipe.collector.writers.base` holds the
:class:`~stationpipe.collector.writers.base.Writer` protocol and the classification every writer raises
into (retry later, rejected data for the dead letters, too large, bad credentials), so the store, the
spool and the bisecting policy never see an HTTP status or a database's error text.

Adding a writer
---------------
1. One file here, ``writers/<name>.py``, with a class whose ``__init__`` takes the settings and which has
   ``async write(lines)`` and ``async aclose()``. It translates its database's answers into the
   exceptions of :mod:`~stationpipe.collector.writers.base` (an HTTP writer calls ``classify``); a 400
   that names the refused lines raises ``LinesRejectedError`` with them, so the rest is written at once.
2. One row in :data:`WRITERS`: ``"<type>": "stationpipe.collector.writers.<name>:<Class>"``, and the type
   in ``InfluxSettings.api`` (``collector/config.py``, beside the settings it needs, as a rule kind's
   model sits in ``rules/rule_models.py``).
3. A test that drives it against the real server (``tests/integration/test_collector_v2.py`` is the
   model); ``tests/unit/test_collector_writers.py`` checks every row already.

Rows name a module rather than import it: a writer's client library is imported only when configured
(influxdb-client alone takes a good part of a second).

Why the batch carries line protocol
-----------------------------------
From decoding a message to the batch, the spool, the bisection and the dead letters, a point travels as
one line of InfluxDB line protocol (a ``str``), formatted once, when the message is decoded
(:mod:`stationpipe.collector.lineproto`, :mod:`stationpipe.collector.points`). That is deliberate: the
collector is the throughput-critical process, and a line is the cheapest thing to carry: about 1 µs to
format, no object per point, written to InfluxDB as the request body by a ``"\\n".join``, stored in the
spool as it is, and shown in a dead letter as the very text the database refused. A neutral point object
would cost an allocation per point and a second formatting pass in the writer for the only databases we
write to. The seam stays clean all the same: a writer takes what the batch carries (``list[str]``), and
nothing outside this package knows the database's HTTP API or its answers. A writer for a database that
does not speak line protocol parses the lines back (the format is small and documented in
:mod:`~stationpipe.collector.lineproto`), or that database earns its own point type the day it comes.
"""

from __future__ import annotations

from importlib import import_module

from stationpipe.collector.config import InfluxSettings
from stationpipe.collector.writers.base import Writer, WriterFactory

__all__ = ["WRITERS", "Writer", "factory", "make_writer"]

#: Writer type (``[influx] api``) -> ``"module:Class"`` of its writer, imported when configured.
WRITERS: dict[str, str] = {
    "v1": "stationpipe.collector.writers.influx_v1:V1Writer",
    "v2": "stationpipe.collector.writers.influx_v2:V2Writer",
}


def factory(kind: str) -> WriterFactory:
    """The writer class of a type, its module imported now; ``KeyError`` for an unknown type."""
    module, _, name = WRITERS[kind].partition(":")
    found: WriterFactory = getattr(import_module(module), name)
    return found


def make_writer(settings: InfluxSettings) -> Writer:
    """The writer the configuration asks for."""
    return factory(settings.api)(settings)
