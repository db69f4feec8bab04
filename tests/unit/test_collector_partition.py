"""A partitioned collector (issue 24 point 3): each instance subscribes to its own stations by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from stationpipe.collector.config import CollectorConfig
from stationpipe.collector.records import TOPICS, subscriptions
from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.kernel.partition import Partition, partition_of
from stationpipe.rules.config import RulesConfig

STATIONS = [f"zj-{i:04d}" for i in range(1000)]


def test_every_station_is_owned_by_exactly_one_instance() -> None:
    owners: dict[str, list[int]] = {s: [] for s in STATIONS}
    for index in range(3):
        part = Partition(count=3, index=index)
        for topic in subscriptions("c", shared=False, partition=part, stations=STATIONS):
            if topic.startswith("stations/") and topic.endswith("/readings"):
                owners[topic.split("/")[1]].append(index)
    assert all(owners[s] == [partition_of(s, 3)] for s in STATIONS)
    shares = [sum(1 for s in STATIONS if partition_of(s, 3) == i) for i in range(3)]
    assert all(280 <= n <= 390 for n in shares), shares


def test_instance_zero_also_takes_every_derived_result_and_warning() -> None:
    stations = ["a", "b", "c", "d"]
    first = subscriptions("c", shared=False, partition=Partition(count=2, index=0), stations=stations)
    second = subscriptions("c", shared=False, partition=Partition(count=2, index=1), stations=stations)
    others = list(TOPICS[1:])  # derived results, warnings and actions, QC, review and audit marks
    assert first[-len(others) :] == others
    assert "derived/+/+" in others
    assert all(t.startswith("stations/") and t.endswith("/readings") for t in second)
    assert len(first) - len(others) + len(second) == len(stations)


def test_shared_partitions_get_a_group_each_and_one_instance_is_unchanged() -> None:
    shared = subscriptions("c", shared=True, partition=Partition(count=2, index=1), stations=["b"])
    assert all(t.startswith("$share/c-p1/stations/") for t in shared)
    assert subscriptions("c", shared=False) == list(TOPICS)
    assert subscriptions("c", shared=False, partition=Partition(), stations=["b"]) == list(TOPICS)


def test_the_collector_splits_stations_as_the_rules_engine_does() -> None:
    assert RulesConfig.model_fields["partition"].annotation is Partition
    assert CollectorConfig.model_fields["partition"].annotation is Partition


def test_a_partitioned_collector_needs_a_registry(tmp_path: Path) -> None:
    head = 'kind = "collector"\nshared = false\n[mqtt]\nclient_id = "c"\n[influx]\nurl = "http://h:8086"\n'
    path = tmp_path / "collector.toml"
    tail = 'database = "d"\n[partition]\ncount = 2\nindex = 1\n'
    path.write_text(head + tail)
    with pytest.raises(ConfigError, match="give a registry"):
        load(path, CollectorConfig)
    (tmp_path / "registry.toml").write_text("")
    path.write_text('registry = "registry.toml"\n' + head + tail)
    assert load(path, CollectorConfig).partition == Partition(count=2, index=1)
