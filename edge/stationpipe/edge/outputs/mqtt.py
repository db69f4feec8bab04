"""MQTT, the station's main way out: every poll becomes one readings message, appended to the on-disk spool
and published at QoS 1 by :class:`stationpipe.edge.publisher.Publisher` (it leaves the spool on PUBACK)."""

from __future__ import annotations

from collections.abc import Callable

from stationpipe.edge.config import EdgeConfig
from stationpipe.edge.outputs.base import Context
from stationpipe.edge.publisher import Publisher
from stationpipe.edge.spool import Spool, SpoolLimits
from stationpipe.kernel import wire
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading, StationMessage, utc_now


def open_spool(config: EdgeConfig) -> Spool:
    """The station's spool in ``state_dir/spool/`` (created if needed; an old ``spool.sqlite`` moves in)."""
    s = config.spool
    return Spool(
        config.state_dir / "spool",
        SpoolLimits(s.max_messages, s.max_bytes, s.max_age),
        fsync_interval=s.fsync_every(),
        legacy_path=config.state_dir / "spool.sqlite",
    )


def message(station: str, device: str, seq: int, readings: list[Reading]) -> StationMessage:
    """One readings message; its ``ts`` is the first request's instant."""
    ts = min((r.ts for r in readings), default=utc_now())
    return StationMessage(station, device, seq, ts, tuple(readings))


class MqttOutput:
    """The spool and the publisher that drains it."""

    def __init__(self, config: EdgeConfig, context: Context) -> None:
        self.station = config.station
        self.spool = open_spool(config)
        self.publisher = Publisher(config, self.spool, context.metrics, context.health)
        self.topic = wire.topic_for(message(config.station, "x", 0, []))

    def accept(self, device: str, readings: list[Reading]) -> None:
        """Append one readings message (its seq given by the spool) and wake the publisher."""
        self.spool.append(
            self.topic, lambda seq: wire.encode(message(self.station, device, seq, readings))[1]
        )
        self.publisher.notify()

    def accept_qc(self, records: tuple[QcRecord, ...]) -> None:
        """Append each check to the spool on ``stations/<station>/qc`` (its seq is the spool's, unused on
        the wire: a check is keyed by its own instant)."""
        for record in records:
            topic, payload = wire.encode(record)
            self.spool.append(topic, _constant(payload))
        self.publisher.notify()

    async def run(self) -> None:
        """Publish until cancelled."""
        await self.publisher.run()

    def close(self) -> None:
        """Close the spool (it stays intact on disk)."""
        self.spool.close()


def _constant(payload: bytes) -> Callable[[int], bytes]:
    """A spool payload builder that ignores the seq (a QC record carries none)."""
    return lambda _seq: payload


def mqtt_output(config: EdgeConfig, context: Context) -> MqttOutput:
    """Always configured: ``[mqtt]`` is required."""
    return MqttOutput(config, context)
