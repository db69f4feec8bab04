"""The faults, each as one function ``(plan) -> Outcome`` that runs a whole deployment (simulated
stations -> edge -> Mosquitto -> collector -> InfluxDB, and the rules engine -> webhook where warnings
matter), inflicts the fault, lets the pipeline recover, and prints its figures::

    broker-kill: produced 1404, stored 1404, lost 0, duplicated 0

This module has the message path (broker, database, collector, edge) and the rules path;
``drills_edge`` the uplink and the station, ``drills_disk`` the collector's disk. The tests run them
with short windows; ``bench/faults_soak.py`` runs the long variants.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.kernel.reading import utc_now
from stationpipe.testbed.webhook import Receiver
from tests.faults import warnings
from tests.faults.harness import Plan, Progress, Run, deployment, hold, need, wait, water_stations
from tests.faults.ledger import EdgeRecord, wholly_lost
from tests.faults.outcome import Outcome, kill

# --- the message path -------------------------------------------------------------------------------


def collector_kill(plan: Plan) -> Outcome:
    """The collector SIGKILLed mid-stream (twice), down for a few seconds, restarted."""
    with deployment("collector-kill", plan, water_stations(plan.stations, "fk-col")) as run:
        run.flowing()
        for _ in range(2):
            hold(2.0, run.pipe)
            kill(run.pipe.procs["collector"])
            hold(min(plan.seconds, 5.0), run.pipe, expect_dead=frozenset({"collector"}))
            run.pipe.restart("collector")
        readings, records, found = run.finish()
    out = Outcome(readings, records=records, found=found)
    out.print()
    return out


def edge_kill(plan: Plan) -> Outcome:
    """One edge SIGKILLed (twice) while it polls and publishes, restarted after a few seconds."""
    stations = water_stations(plan.stations, "fk-edge")
    victim = f"edge-{stations[0].id}"
    with deployment("edge-kill", plan, stations) as run:
        run.flowing()
        for _ in range(2):
            hold(2.0, run.pipe)
            kill(run.pipe.procs[victim])
            hold(min(plan.seconds, 3.0), run.pipe, expect_dead=frozenset({victim}))
            run.pipe.restart(victim)
        readings, records, found = run.finish()
    seqs = records[0].seqs
    out = Outcome(
        readings, records=records, seen={"seqs contiguous": seqs == list(range(len(seqs)))}, found=found
    )
    out.print()
    return out


def influx_down(plan: Plan) -> Outcome:
    """InfluxDB SIGKILLed and kept down for ``plan.seconds`` ("a minute"), then started again."""
    with deployment("influx-down", plan, water_stations(plan.stations, "fk-influx")) as run:
        run.flowing()
        run.svc.influx.kill()
        hold(plan.seconds, run.pipe)
        run.svc.influx.start()
        readings, records, found = run.finish()
    out = Outcome(readings, records=records, found=found)
    out.print()
    return out


# --- the rules path: a pollution event while something dies ------------------------------------------


@contextlib.contextmanager
def _event_deployment(
    fault: str, plan: Plan, prefix: str, peak_at: float, *, shared: bool = True
) -> Iterator[tuple[Run, Receiver]]:
    """A deployment with an NH3-N event at the first station, the section rule and a webhook receiver.

    The event rises over ``peak_at`` seconds, holds half of that and decays over ``peak_at``; ``shared``
    is the consumers' subscription mode.
    """
    stations = water_stations(plan.stations, prefix)
    receiver = Receiver()
    receiver.start()
    scenario = warnings.event(stations[0].id, rise=peak_at, hold=peak_at / 2, decay=peak_at)
    try:
        with deployment(
            fault, plan, stations, scenarios=scenario, rules=warnings.RULES, webhook=receiver, shared=shared
        ) as run:
            yield run, receiver
    finally:
        receiver.stop()


def _event_outcome(
    run: Run, receiver: Receiver, started: float, lasts: float, quiet: float | None = None
) -> Outcome:
    """Let the event end, wind down, and compare warnings expected with warnings delivered (waiting for
    them until the deadline or, with ``quiet``, until no new one came for that many seconds)."""
    hold(max(0.0, started + lasts + 2.0 - time.monotonic()), run.pipe)
    readings, records, found = run.finish(quiet=quiet)
    ids = warnings.expected(run.pipe.config("rules"), receiver, records, run.pipe.workdir)
    progress = Progress(quiet)
    wait(lambda: set(ids) <= set(receiver.keys) or progress.stalled(len(receiver.keys)), run.plan.settle)
    return Outcome(readings, warnings.tally(run.fault, ids, receiver), records, found=found)


#: The consumers and the line each logs when it has (re)subscribed.
CONSUMERS = {"collector": "collector subscribed", "rules": "rules engine subscribed"}


class SharedSubscriptionsForgottenError(AssertionError):
    """Readings were lost only between a broker restart and the consumers' re-subscription.

    Mosquitto (2.0.11 here) restores persistent sessions from its persistence file but not their shared
    subscriptions (``$share/<group>/…``). The edges keep what the broker routes to nobody (MQTT 5 PUBACK
    reason 0x10), but once one consumer (or the test's probe) has subscribed again, what only it receives
    is gone for a consumer that has not (a plain subscription's session would have kept it).
    """


def broker_kill(plan: Plan, peak_at: float = 8.0, *, shared: bool = False) -> Outcome:
    """Mosquitto SIGKILLed during a pollution event, down for a few seconds, restarted on its port.

    By default the collector and the rules engine run as single instances (plain subscriptions, which
    the broker restores with their sessions). With ``shared`` they use shared subscriptions, and this
    raises ``SharedSubscriptionsForgottenError`` (after printing the figures) when readings or warnings
    were lost and the loss is explained by a consumer's missing shared subscription: every lost reading
    is stamped between the kill and the collector's re-subscription, and warnings differ only if the
    rules engine, too, was unsubscribed while the event's readings came.
    """
    fault = "broker-kill-shared" if shared else "broker-kill"
    with _event_deployment(fault, plan, "fk-broker", peak_at, shared=shared) as (run, receiver):
        started = time.monotonic()
        run.flowing()
        hold(max(0.0, started + peak_at * 0.6 - time.monotonic()), run.pipe)
        before = {name: run.pipe.log(name).count(text) for name, text in CONSUMERS.items()}
        killed = timestamp_ns(utc_now())
        run.svc.mosquitto.kill()
        hold(min(plan.seconds, 5.0), run.pipe)
        run.svc.mosquitto.start()
        restarted = timestamp_ns(utc_now())
        back: dict[str, int] = {}

        def resubscribed() -> bool:
            for name, text in CONSUMERS.items():
                if name not in back and run.pipe.log(name).count(text) > before[name]:
                    back[name] = timestamp_ns(utc_now())  # an upper bound: the log is polled
            return len(back) == len(CONSUMERS)

        need(resubscribed, plan.settle, "the collector and the rules engine subscribed again")
        out = _event_outcome(run, receiver, started, peak_at * 2.5, quiet=5.0)
        lost = [(rec, seq) for rec in out.records for seq in wholly_lost(rec, out.found)]
        seen_by_probe = sum(1 for rec, seq in lost if (rec.station, seq) in run.probe.seen)
    early = killed - int(2 * plan.interval * 1e9)  # a reading is stamped up to a poll before it is spooled
    in_window = sum(1 for rec, seq in lost if early <= _ts(rec, seq) <= back["collector"])
    event = out.records[0]
    unseen_by_rules = sum(1 for seq in event.messages if early <= _ts(event, seq) <= back["rules"])
    out.seen = {
        "broker down": f"{(restarted - killed) / 1e9:.1f} s",
        "subscribed again after the restart": ", ".join(
            f"{name} {(at - restarted) / 1e9:.1f} s" for name, at in back.items()
        ),
        "lost messages stamped before the collector subscribed again": f"{in_window} of {len(lost)}",
        "lost messages the probe saw": f"{seen_by_probe} of {len(lost)}",
        "event-station messages stamped before the rules engine subscribed again": unseen_by_rules,
    }
    out.print()
    w = out.warnings
    warnings_differ = w is not None and (w.lost or w.duplicated)
    readings_explained = in_window == len(lost) and out.readings.lost == out.readings.lost_beyond_dropped
    explained = readings_explained and (not warnings_differ or unseen_by_rules)
    if shared and (lost or warnings_differ) and explained:
        raise SharedSubscriptionsForgottenError(f"{out.readings.line()}; {w.line() if w else ''}")
    return out


def _ts(record: EdgeRecord, seq: int) -> int:
    return timestamp_ns(record.messages[seq].ts)


def rules_kill(plan: Plan, peak_at: float = 8.0) -> Outcome:
    """The rules engine SIGKILLed during a pollution event, restarted with its durable state."""
    with _event_deployment("rules-kill", plan, "fk-rules", peak_at) as (run, receiver):
        started = time.monotonic()
        run.flowing()
        need(lambda: bool(receiver.keys), peak_at * 2, "a first warning before the kill")
        kill(run.pipe.procs["rules"])
        hold(min(plan.seconds, 3.0), run.pipe, expect_dead=frozenset({"rules"}))
        run.pipe.restart("rules")
        out = _event_outcome(run, receiver, started, peak_at * 2.5)
    out.print()
    return out
