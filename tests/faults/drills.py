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
import itertools
import time
from collections.abc import Iterator

from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.kernel.partition import partition_of
from stationpipe.kernel.reading import utc_now
from stationpipe.testbed.pipeline import Pipeline, SimStation
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


def partition_down(plan: Plan) -> Outcome:
    """One of two partitioned collectors SIGKILLed and kept down for ``plan.seconds``: the other stores
    its own stations meanwhile, the dead one's share waits in the broker (its persistent session's plain
    subscriptions) and is stored once it is back."""
    stations = spread(water_stations(8 * max(plan.stations, 2), "fk-part"), 2, plan.stations)
    mine = {partition_of(s.id, 2): s.id for s in stations}
    with deployment("partition-down", plan, stations, collectors=2, shared=False) as run:
        run.flowing()
        kill(run.pipe.procs["collector-p1"])
        down = frozenset({"collector-p1"})
        hold(1.0, run.pipe, expect_dead=down)  # a write the killed collector had sent has landed
        before = {p: len(run.stored(station)) for p, station in mine.items()}
        hold(plan.seconds, run.pipe, expect_dead=down)
        during = {p: len(run.stored(station)) - before[p] for p, station in mine.items()}
        run.pipe.restart("collector-p1")
        readings, records, found = run.finish()
    out = Outcome(
        readings,
        records=records,
        found=found,
        seen={"points stored while p1 was down": f"p0's station {during[0]}, p1's station {during[1]}"},
    )
    out.print()
    assert during[0] > 0, "the live collector stored nothing while the other was down"
    assert during[1] == 0, "the dead collector's stations were stored by someone else"
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


def spread(stations: list[SimStation], count: int, want: int) -> list[SimStation]:
    """``want`` of ``stations``, dealt over ``count`` partitions in turn, so that every partitioned
    instance owns some (ids that differ only in their last digit often share a CRC-32 partition)."""
    owned = [[s for s in stations if partition_of(s.id, count) == p] for p in range(count)]
    dealt = [st for turn in itertools.zip_longest(*owned) for st in turn if st is not None][:want]
    covered = {partition_of(s.id, count) for s in dealt}
    assert len(covered) == min(count, want), f"no stations for partitions {set(range(count)) - covered}"
    return dealt


@contextlib.contextmanager
def _event_deployment(
    fault: str, plan: Plan, prefix: str, peak_at: float, *, shared: bool = True, collectors: int = 1
) -> Iterator[tuple[Run, Receiver]]:
    """A deployment with an NH3-N event at the first station, the section rule and a webhook receiver.

    The event rises over ``peak_at`` seconds, holds half of that and decays over ``peak_at``; ``shared``
    is the consumers' subscription mode, ``collectors`` the collector's instances (partitioned when > 1).
    """
    stations = water_stations(plan.stations, prefix)
    if collectors > 1:
        candidates = water_stations(8 * max(plan.stations, collectors), prefix)
        stations = spread(candidates, collectors, plan.stations)
    receiver = Receiver()
    receiver.start()
    scenario = warnings.event(stations[0].id, rise=peak_at, hold=peak_at / 2, decay=peak_at)
    try:
        with deployment(
            fault,
            plan,
            stations,
            scenarios=scenario,
            rules=warnings.RULES,
            webhook=receiver,
            shared=shared,
            collectors=collectors,
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


#: The line each consumer logs when it has (re)subscribed.
SUBSCRIBED = {"collector": "collector subscribed", "rules": "rules engine subscribed"}


def consumers(pipe: Pipeline) -> dict[str, str]:
    """Every consumer process of ``pipe`` (each collector instance) and the line it logs on subscribing."""
    return {name: SUBSCRIBED[name.split("-")[0]] for name in [*pipe.collector_names, "rules"]}


class SharedSubscriptionsForgottenError(AssertionError):
    """Readings were lost only between a broker restart and the consumers' re-subscription.

    Mosquitto (2.0.11 here) restores persistent sessions from its persistence file but not their shared
    subscriptions (``$share/<group>/…``). The edges keep what the broker routes to nobody (MQTT 5 PUBACK
    reason 0x10), but once one consumer (or the test's probe) has subscribed again, what only it receives
    is gone for a consumer that has not (a plain subscription's session would have kept it).
    """


def broker_kill(plan: Plan, peak_at: float = 8.0, *, shared: bool = False, collectors: int = 1) -> Outcome:
    """Mosquitto SIGKILLed during a pollution event, down for a few seconds, restarted on its port.

    By default the collector and the rules engine run as single instances (plain subscriptions, which
    the broker restores with their sessions); ``collectors`` > 1 runs a partitioned collector of that many
    instances (plain per-station subscriptions). With ``shared`` they use shared subscriptions, and this
    raises ``SharedSubscriptionsForgottenError`` (after printing the figures) when readings or warnings
    were lost and the loss is explained by a consumer's missing shared subscription: every lost reading
    is stamped between the kill and the collector's re-subscription, and warnings differ only if the
    rules engine, too, was unsubscribed while the event's readings came.
    """
    fault = "broker-kill-shared" if shared else "broker-kill"
    fault += f"-{collectors}-collectors" if collectors > 1 else ""
    deployed = _event_deployment(fault, plan, "fk-broker", peak_at, shared=shared, collectors=collectors)
    with deployed as (run, receiver):
        started = time.monotonic()
        run.flowing()
        hold(max(0.0, started + peak_at * 0.6 - time.monotonic()), run.pipe)
        subscribing = consumers(run.pipe)
        before = {name: run.pipe.log(name).count(text) for name, text in subscribing.items()}
        killed = timestamp_ns(utc_now())
        run.svc.mosquitto.kill()
        hold(min(plan.seconds, 5.0), run.pipe)
        run.svc.mosquitto.start()
        restarted = timestamp_ns(utc_now())
        back: dict[str, int] = {}

        def resubscribed() -> bool:
            for name, text in subscribing.items():
                if name not in back and run.pipe.log(name).count(text) > before[name]:
                    back[name] = timestamp_ns(utc_now())  # an upper bound: the log is polled
            return len(back) == len(subscribing)

        need(resubscribed, plan.settle, "the collector and the rules engine subscribed again")
        out = _event_outcome(run, receiver, started, peak_at * 2.5, quiet=5.0)
        lost = [(rec, seq) for rec in out.records for seq in wholly_lost(rec, out.found)]
        seen_by_probe = sum(1 for rec, seq in lost if (rec.station, seq) in run.probe.seen)
    early = killed - int(2 * plan.interval * 1e9)  # a reading is stamped up to a poll before it is spooled
    collected = max(back[name] for name in run.pipe.collector_names)
    in_window = sum(1 for rec, seq in lost if early <= _ts(rec, seq) <= collected)
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
