"""The HJ 212 server's one broker connection: uploads become ``stations/<id>/readings`` messages, so
they reach the collector and the rules engine like any edge agent's (standard-sample checks, CN 2062,
``stations/<id>/qc`` messages); heartbeats (HJ 212-2025 CN 9015)
become ``stations/<id>/status`` messages saying ``online``. ``publish`` returns only after the
PUBACK; only then does the server answer 9014, so a logger resends whatever was not safely taken."""

from __future__ import annotations

import asyncio
import logging

from stationpipe.kernel import wire
from stationpipe.kernel.backoff import Backoff
from stationpipe.kernel.errors import BrokerUnavailableError
from stationpipe.kernel.messages import StationStatus
from stationpipe.kernel.mqtt import QOS, Client, MqttSettings, make_client
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import StationMessage

log = logging.getLogger(__name__)


class ReadingsPublisher:
    """Keeps a broker session; ``publish`` waits (bounded) for it."""

    def __init__(self, settings: MqttSettings, publish_timeout: float) -> None:
        self._settings = settings
        self._timeout = publish_timeout
        self._client: Client | None = None
        self._up = asyncio.Event()

    async def run(self) -> None:
        """Connect, stay connected, reconnect with backoff; never returns."""
        backoff = Backoff()
        while True:
            try:
                async with make_client(self._settings, client_id_suffix="") as client:
                    self._client = client
                    self._up.set()
                    backoff.reset()
                    log.info("HJ 212 uplink connected to %s:%d", self._settings.host, self._settings.port)
                    await asyncio.Event().wait()  # the session lives until the broker drops it
            except BrokerUnavailableError as exc:
                self._up.clear()
                self._client = None
                delay = backoff.next_delay()
                log.warning("HJ 212 uplink: broker unavailable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def publish(self, message: StationMessage | StationStatus | QcRecord) -> None:
        """Publish at QoS 1 and wait for the PUBACK; ``BrokerUnavailableError`` within the timeout."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._up.wait()
                assert self._client is not None
                await self._client.publish(*wire.encode(message), qos=QOS)
        except (TimeoutError, BrokerUnavailableError) as exc:
            what = f"seq {message.seq}" if isinstance(message, StationMessage) else type(message).__name__
            raise BrokerUnavailableError(f"cannot publish {message.station} {what}: {exc!r}") from exc
