"""MQTT topic names (docs/design.md#mqtt) and their parsing: the only place a topic string is built."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from stationpipe.kernel.errors import WireError

if TYPE_CHECKING:
    from stationpipe.kernel.messages import DeadLetter, Derived, StationStatus, WarningAction, WarningEvent
    from stationpipe.kernel.reading import StationMessage

_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


class TopicKind(StrEnum):
    """The six topic families of docs/design.md#mqtt."""

    READINGS = "readings"
    STATUS = "status"
    DERIVED = "derived"
    WARNING = "warnings"
    ACTION = "warnings/actions"
    DEADLETTER = "deadletter"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its family, the station (or component) and the index or rule name."""

    kind: TopicKind
    owner: str
    name: str | None
    topic: str


def _check(segment: str, what: str) -> str:
    if not _SEGMENT.fullmatch(segment):
        raise WireError("topic", f"{what} {segment!r} must be 1-128 of A-Z a-z 0-9 _ . -")
    return segment


def readings_topic(station: str) -> str:
    """``stations/<station>/readings``."""
    return f"stations/{_check(station, 'station')}/readings"


def status_topic(station: str) -> str:
    """``stations/<station>/status`` (retained; the agent's LWT)."""
    return f"stations/{_check(station, 'station')}/status"


def derived_topic(station: str, index: str) -> str:
    """``derived/<station>/<index>``."""
    return f"derived/{_check(station, 'station')}/{_check(index, 'index')}"


def warning_topic(station: str, rule: str) -> str:
    """``warnings/<station>/<rule>`` (retained)."""
    return f"warnings/{_check(station, 'station')}/{_check(rule, 'rule')}"


def action_topic(station: str, rule: str) -> str:
    """``warnings/actions/<station>/<rule>``: what operators did to a warning (not retained)."""
    return f"warnings/actions/{_check(station, 'station')}/{_check(rule, 'rule')}"


def deadletter_topic(component: str) -> str:
    """``deadletter/<component>``."""
    return f"deadletter/{_check(component, 'component')}"


def topic_for(
    msg: StationMessage | StationStatus | Derived | WarningEvent | WarningAction | DeadLetter,
) -> str:
    """The topic a record is published on."""
    from stationpipe.kernel.messages import (  # noqa: PLC0415
        DeadLetter,
        Derived,
        StationStatus,
        WarningAction,
        WarningEvent,
    )

    if isinstance(msg, StationStatus):
        return status_topic(msg.station)
    if isinstance(msg, Derived):
        return derived_topic(msg.station, msg.index)
    if isinstance(msg, WarningEvent):
        return warning_topic(msg.station, msg.rule)
    if isinstance(msg, WarningAction):
        return action_topic(msg.station, msg.rule)
    if isinstance(msg, DeadLetter):
        return deadletter_topic(msg.component)
    return readings_topic(msg.station)


@functools.lru_cache(maxsize=8192)
def parse_topic(topic: str) -> Topic:
    """Parse a concrete topic (no wildcards) into its family and names; ``WireError`` when unknown.

    Cached (bounded): a consumer parses the same few thousand topics for every message.
    """
    parts = topic.split("/")
    match parts:
        case ["stations", station, "readings"]:
            return Topic(TopicKind.READINGS, _check(station, "station"), None, topic)
        case ["stations", station, "status"]:
            return Topic(TopicKind.STATUS, _check(station, "station"), None, topic)
        case ["derived", station, index]:
            return Topic(TopicKind.DERIVED, _check(station, "station"), _check(index, "index"), topic)
        case ["warnings", station, rule]:
            return Topic(TopicKind.WARNING, _check(station, "station"), _check(rule, "rule"), topic)
        case ["warnings", "actions", station, rule]:
            return Topic(TopicKind.ACTION, _check(station, "station"), _check(rule, "rule"), topic)
        case ["deadletter", component]:
            return Topic(TopicKind.DEADLETTER, _check(component, "component"), None, topic)
    raise WireError("topic", f"{topic!r} is not a stationpipe topic")
