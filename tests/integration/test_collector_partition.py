"""Two partitioned collectors against the real broker and database: each stores exactly its own
stations' readings, collector 0 every derived result, and a station added to the registry is subscribed
to while they run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from stationpipe.kernel import wire
from stationpipe.kernel.messages import Derived
from stationpipe.kernel.partition import partition_of
from stationpipe.testbed.services import Services
from tests.integration.test_collector import (
    T0,
    collector_config,
    count,
    expected_values,
    messages,
    publish,
    running,
    stored_values,
    wait_for,
)

pytestmark = pytest.mark.integration
ENTRY = (
    '[[stations]]\nid = "{id}"\nname = "{id}"\nkind = "water"\ncity = "杭州"\nriver = "钱塘江"\n'
    'section = "{id}"\ntarget_class = "II"\nwater_body = "river"\nlat = 30.2\nlon = 120.1\n'
)


def _stations(per_partition: int) -> list[list[str]]:
    """Station ids, ``per_partition`` owned by each of two partitions."""
    out: list[list[str]] = [[], []]
    for i in range(100):
        sid = f"it-part-{i:02d}"
        if len(out[partition_of(sid, 2)]) < per_partition:
            out[partition_of(sid, 2)].append(sid)
    return out


def _write(registry: Path, ids: list[str]) -> None:
    registry.write_text('kind = "registry"\n' + "".join(ENTRY.format(id=sid) for sid in ids))


async def test_partitioned_collectors_store_their_own_stations_and_follow_the_registry(
    services: Services, tmp_path: Path
) -> None:
    owned = _stations(3)
    late = owned[1].pop()  # joins the registry while the collectors run
    registry = tmp_path / "registry.toml"
    _write(registry, owned[0] + owned[1])

    def config(index: int) -> Any:
        return collector_config(
            services,
            tmp_path / f"p{index}",
            "it-part",
            client_id=f"it-part-p{index}",
            shared=False,
            registry=str(registry),
            partition={"count": 2, "index": index},
        )

    msgs = {sid: messages(sid, 20) for sid in [*owned[0], *owned[1], late]}
    async with running(config(0)) as m0, running(config(1)) as m1:
        await publish(services, [wire.encode(m) for sid in owned[0] + owned[1] for m in msgs[sid]])
        await publish(services, [wire.encode(Derived(owned[1][0], "water_class", T0, {"class": 2}))])
        await wait_for(
            lambda: all(count(services, sid) == 100 for sid in owned[0] + owned[1]), "every reading stored"
        )
        derived = owned[1][0]
        await wait_for(lambda: count(services, derived, "water_class", "class") == 1, "the derived result")
        readings = [m.value("stationpipe_collector_messages_total", kind="readings") for m in (m0, m1)]
        assert readings == [20.0 * len(owned[0]), 20.0 * len(owned[1])]  # each its own stations, once
        assert m0.value("stationpipe_collector_messages_total", kind="derived") == 1
        assert m1.value("stationpipe_collector_messages_total", kind="derived") == 0

        _write(registry, owned[0] + owned[1] + [late])
        first = [wire.encode(msgs[late][0])]

        async def subscribed() -> None:
            while count(services, late) == 0:  # re-sent until collector 1 has subscribed (idempotent)
                await publish(services, first)
                await asyncio.sleep(0.5)

        await asyncio.wait_for(subscribed(), 30)
        await publish(services, [wire.encode(m) for m in msgs[late]])
        await wait_for(lambda: count(services, late) == 100, "the late station's readings")
    for sid, sent in msgs.items():
        assert stored_values(services, sid) == expected_values(sent)
