"""docs/design.md#style rule 10 for the collector and rules engine: ``/metrics``, a retained health line on
``stations/_<client id>/status`` that the broker's last will turns ``offline`` when the process dies."""

from __future__ import annotations

import asyncio
import json
import signal
import tomllib
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from stationpipe.kernel.health import component_id
from stationpipe.kernel.messages import AlertState
from stationpipe.testbed.pipeline import Pipeline, SimStation
from stationpipe.testbed.services import Services, free_port
from tests.integration.rules_helpers import engine, listening, publish, recent, rules_config, wait_for

pytestmark = pytest.mark.integration
RULES = '[[rules]]\nname = "section"\nkind = "section"\nstation_kinds = ["water"]\n'


async def statuses(port: int, client_ids: list[str], want: str, within: float) -> dict[str, dict[str, Any]]:
    """The newest status payload of each component once all are in state ``want``."""
    latest: dict[str, dict[str, Any]] = {}
    topics = {f"stations/{component_id(c)}/status": c for c in client_ids}
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"health-{free_port()}") as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        async with asyncio.timeout(within):
            async for message in client.messages:
                body = json.loads(message.payload if isinstance(message.payload, bytes) else b"{}")
                latest[topics[message.topic.value]] = body
                if len(latest) == len(topics) and all(b["state"] == want for b in latest.values()):
                    return latest
    raise AssertionError("unreachable")


def client_id(pipe: Pipeline, name: str) -> str:
    return str(tomllib.loads(pipe.config(name).read_text())["mqtt"]["client_id"])


async def test_components_report_health_and_their_last_will_says_offline(services: Services) -> None:
    with Pipeline(services, [SimStation("hl-01", "II", 5)], interval=1.0, rules=RULES) as pipe:
        ids = [client_id(pipe, "collector"), client_id(pipe, "rules")]
        online = await statuses(services.mosquitto.port, ids, "online", 30)
        assert online[ids[0]]["health"].startswith("ok: spool 0 points"), online
        assert online[ids[1]]["health"].startswith("ok: "), online
        for name in ("collector", "rules"):
            pipe.procs[name].send_signal(signal.SIGKILL)
            pipe.procs[name].wait(10)
        offline = await statuses(services.mosquitto.port, ids, "offline", 60)
        assert {b["health"] for b in offline.values()} == {"offline: connection lost"}


async def test_the_rules_engine_serves_its_metrics(services: Services, tmp_path: Path) -> None:
    port = free_port()
    config = rules_config(services, tmp_path, metrics={"port": port})
    async with engine(config), listening(services) as (found, client):
        for i, value in enumerate([0.5, 1.6, 0.3]):  # quiet, orange, resolved (the state other tests see)
            await publish(client, i, value, recent(i))
        url = f"http://127.0.0.1:{port}/metrics"
        async with httpx.AsyncClient() as http:
            async with asyncio.timeout(20):
                resolved = 'stationpipe_rules_warning_changes_total{change="resolved"}'
                while resolved not in (text := (await http.get(url)).text):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)  # a scrape has no event to wait for; bounded above
        samples = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        assert samples["stationpipe_rules_readings_evaluated_total"] == 3
        assert samples['stationpipe_rules_messages_total{outcome="evaluated"}'] == 3
        assert samples['stationpipe_rules_warning_changes_total{change="firing"}'] == 1
        assert samples["stationpipe_rules_message_seconds_count"] == 3
        await wait_for(
            lambda: any(w.state is AlertState.RESOLVED for w in found.warnings), "resolved on MQTT"
        )
