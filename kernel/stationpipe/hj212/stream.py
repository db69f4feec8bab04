"""Waiting for an HJ 212 reply on an asyncio stream: shared by everything that uploads (the edge's
uplink, the simulated data logger)."""

from __future__ import annotations

import asyncio

from stationpipe.hj212 import CODECS, Codec, DataSegment, FrameSplitter, Version


async def await_reply(
    reader: asyncio.StreamReader,
    splitter: FrameSplitter,
    qn: str | None,
    within: float,
    codec: Codec = CODECS[Version.HJ212_2017],
) -> DataSegment:
    """The next frame whose QN is ``qn`` (others are skipped), within ``within`` seconds, each frame
    decoded by ``codec`` (the edition and keys configured for the peer; HJ 212-2017 by default).

    Raises ``TimeoutError``, ``OSError`` when the peer closes, or ``Hj212Error`` for a broken frame.
    """
    async with asyncio.timeout(within):
        while True:
            for raw in splitter:
                segment = codec.decode(raw).segment
                if segment.qn == qn:
                    return segment
            data = await reader.read(4096)
            if not data:
                raise OSError("platform closed the connection")
            splitter.feed(data)
