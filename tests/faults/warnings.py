"""Warnings through a fault: the webhook notifications a fault-free engine raises on the same readings
against those the early-warning receiver got.

**Expected** replays what the edges produced (the ledger, every message in seq order) through the same
rules with ``stationpipe.rules.cli.run_test`` (in-memory state, reading time as arrival time) and keeps the
notifications routed to the webhook. Notification ids are deterministic (station, instance, start,
change, level), so a live engine that saw the same readings raises the same ids.

**Delivered** is the set of distinct ``Idempotency-Key`` values the receiver got. A retried POST carries
the same key and is counted as ``retried`` (the receiver drops it); a key nobody expected is a
duplicate (for instance a second "firing" for one event after a restart).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stationpipe.kernel import wire
from stationpipe.kernel.config import load
from stationpipe.rules.channels import route
from stationpipe.rules.channels.webhook import WEBHOOK
from stationpipe.rules.cli import run_test
from stationpipe.rules.config import RulesConfig
from stationpipe.testbed.pipeline import WEBHOOK_SECRET_ENV
from stationpipe.testbed.webhook import Receiver
from tests.faults.ledger import EdgeRecord

#: Pollution event on one station's nutrient analyser and the GB 3838 section rule on NH3-N: rise, hold
#: and decay in seconds (an hour each in a real event; seconds here so a test sees a whole event).
EVENT = (
    '[[scenarios]]\nname = "nh3n-event"\nkind = "pollution"\ndevices = ["{station}-nutrients"]\n'
    'parameter = "nh3n"\nmultiple = 1.8\nrise = {rise}\nhold = {hold}\ndecay = {decay}\nactive = true\n'
)
RULES = (
    '[[rules]]\nname = "section"\nkind = "section"\nstation_kinds = ["water"]\nparameters = ["nh3n"]\n'
    "consecutive = 3\n"
)


def event(station: str, rise: float, hold: float, decay: float) -> str:
    """The ``[[scenarios]]`` block of an NH3-N pollution event at ``station``, active from start-up."""
    return EVENT.format(station=station, rise=rise, hold=hold, decay=decay)


@contextlib.contextmanager
def _secret(receiver: Receiver) -> Iterator[None]:
    """The rules file names its webhook secret by environment variable; loading it needs the variable."""
    before = os.environ.get(WEBHOOK_SECRET_ENV)
    os.environ[WEBHOOK_SECRET_ENV] = receiver.secret
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(WEBHOOK_SECRET_ENV, None)
        else:
            os.environ[WEBHOOK_SECRET_ENV] = before


def expected(rules_file: Path, receiver: Receiver, records: list[EdgeRecord], scratch: Path) -> list[str]:
    """Ids of the webhook notifications the rules raise on everything the edges produced."""
    with _secret(receiver):
        config = load(rules_file, RulesConfig)
    data = scratch / "replay.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for rec in records:
            for _, msg in sorted(rec.messages.items()):
                fh.write(wire.encode(msg)[1].decode() + "\n")
    return [n.id for n in run_test(config, data) if WEBHOOK in route(n.to_json(), config.delivery)]


@dataclass(frozen=True)
class WarningTally:
    """Expected against delivered webhook notifications."""

    fault: str
    expected: int
    delivered: int
    lost: int
    duplicated: int
    retried: int
    bad_signatures: int
    changes: tuple[str, ...]

    def line(self) -> str:
        """``<fault>: warnings expected N, delivered N``."""
        return f"{self.fault}: warnings expected {self.expected}, delivered {self.delivered}"

    def details(self) -> str:
        """The figures behind the line."""
        return (
            f"{self.fault}: warnings lost {self.lost}, duplicated {self.duplicated}, retried with the same "
            f"key {self.retried}, bad signatures {self.bad_signatures}; changes {', '.join(self.changes)}"
        )


def tally(fault: str, ids: list[str], receiver: Receiver) -> WarningTally:
    """Compare expected ids with the receiver's distinct idempotency keys."""
    with receiver.lock:
        keys = list(receiver.keys)
        bad = receiver.bad_signatures
    delivered = set(keys)
    want = set(ids)
    return WarningTally(
        fault,
        expected=len(want),
        delivered=len(delivered & want),
        lost=len(want - delivered),
        duplicated=len(delivered - want),
        retried=len(keys) - len(delivered),
        bad_signatures=bad,
        changes=tuple("/".join(i.rsplit("/", 2)[-2:]) for i in ids),
    )
