"""The pure core of the engine: readings in, lifecycle changes and derived results out. No I/O.

Per message: readings pass the :class:`~stationpipe.rules.ordering.Reorder` buffer, each released reading is
evaluated by every rule that watches its station and parameter (a plan cached per station x parameter), the
lifecycle steps, and the derived trackers update. :meth:`Evaluator.tick` (the engine's timer) releases
held readings, runs deadman and no-data checks, flushes coalesced backfill notifications and the headline.

Backfill: a reading older than ``backfill_after`` on arrival is evaluated with its real time; the
notifications it causes are *coalesced* per instance (the latest wins) and sent once the station's
backfill has gone quiet for a tick, marked backfilled: an outage replay yields one message per instance,
not a storm of "new" warnings. A message its sender marks ``backfill`` (HJ 212-2025 ``RF=1``) is backfill
whatever its age: every reading at or before the latest marked time of its series is.

Deadman rules watch the arrival of readings, or (``watch = "status"``) of ``online`` status messages, such
as the HJ 212 server publishes for each heartbeat (CN 9015) of a data logger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stationpipe.kernel.messages import AgentState, Derived, StationStatus
from stationpipe.kernel.qc import QcRecord
from stationpipe.kernel.reading import Reading, StationMessage
from stationpipe.kernel.registry import Registry, StationInfo
from stationpipe.rules.channels.review import review_row
from stationpipe.rules.config import RulesConfig
from stationpipe.rules.derived import CaptureTracker, Headline, WaterClassTracker
from stationpipe.rules.kinds import Kind, Outcome, Series, build, build_qc
from stationpipe.rules.kinds.deadman import STATION, silent
from stationpipe.rules.lifecycle import Change, Instance, Policy, no_data, step
from stationpipe.rules.notify import Notification, notification
from stationpipe.rules.ordering import Reorder
from stationpipe.rules.prewarn import Prewarn
from stationpipe.rules.rule_models import DeadmanRule
from stationpipe.rules.state import Batch


@dataclass
class Output:
    """What one step produced: state to commit, notifications to route, derived records to publish."""

    batch: Batch = field(default_factory=Batch.empty)
    notes: list[Notification] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)


def merge(outs: list[Output]) -> Output:
    """The outputs of consecutive steps as one, to commit in one transaction: notifications, outbox rows,
    journal entries and derived records in step order (so each instance's changes keep their order);
    instances, series and facts as the last step left them."""
    out = Output()
    batch = out.batch
    for part in outs:
        step_batch = part.batch
        batch.instances.update(step_batch.instances)
        batch.series.update(step_batch.series)
        batch.outbox.extend(step_batch.outbox)
        batch.facts.update(step_batch.facts)
        batch.journal.extend(step_batch.journal)
        batch.withdrawn.extend(step_batch.withdrawn)
        batch.reviews.extend(step_batch.reviews)
        out.notes.extend(part.notes)
        out.derived.extend(part.derived)
    return out


class _Planned:
    """One rule planned for one station x parameter, with its series state and instance once looked up.

    ``state`` and ``inst`` are the objects ``Evaluator.series[key]`` and ``Evaluator.instances[key]``, kept
    here so the hot path does not look them up in those large dicts for every reading. Safe because the
    evaluator only ever adds entries to those dicts, never replaces or removes one, and drops every plan
    when it replaces the dicts themselves (:meth:`Evaluator.restore`) or the rules (``configure``).
    ``inst`` is ``None`` until known, and then the dict is asked: another plan may share the key (AQI).
    ``dirtied`` is the ``Evaluator.dirty_round`` in which ``key`` was last added to ``Evaluator.dirty``:
    adding it again before the next tick clears that set would change nothing. ``keep``: the state has
    held something (when looked up or since), so it is saved when evaluated even if empty now; a state
    that has always been empty (the stateless kinds': section, instrument) is never saved, since no row
    restores to the same empty state (:meth:`Evaluator._reading`).
    """

    __slots__ = ("dirtied", "evaluate", "inst", "instance", "keep", "key", "kind", "policy", "state")

    def __init__(self, key: str, kind: Kind, policy: Policy, instance: str) -> None:
        self.key = key  # station/rule/instance: the series and instance key
        self.evaluate: Callable[[StationInfo, Reading, Series], Outcome | None] = kind.evaluate  # bound once
        self.kind = kind
        self.policy = policy
        self.instance = instance
        self.state: Series | None = None
        self.inst: Instance | None = None
        self.dirtied = -1
        self.keep = False


class Evaluator:
    """Evaluates the readings of the stations of one partition (see module docstring)."""

    def __init__(self, config: RulesConfig, registry: Registry, start: datetime) -> None:
        self.reorder = Reorder(config.evaluation.offset)
        self.instances: dict[str, Instance] = {}
        self.series: dict[str, Series] = {}
        self.dirty: set[str] = set()  # series keys evaluated since the last tick (their state is saved)
        self.dirty_round = 0  # counts the ticks that cleared ``dirty``
        self.arrival: dict[str, datetime] = {}
        self.heard: dict[str, datetime] = {}  # the last ``online`` status per station
        self.resent: dict[tuple[str, str], datetime] = {}  # the latest backfill-marked time per series
        self.deferred: dict[str, Notification] = {}
        self.backfilling: dict[str, datetime] = {}
        self.start = start
        self.water = WaterClassTracker()
        self.capture = CaptureTracker()
        self.water_changed: set[str] = set()
        self.deadman_at: dict[str, float] = {}
        self.unknown = 0
        self.evaluated = 0
        self.wall_s = start.timestamp()  # the latest arrival or tick (wall clock): pre-warning windows
        self.configure(config, registry)

    def configure(self, config: RulesConfig, registry: Registry) -> None:
        """(Re)load rules and registry; state of instances and series is kept by key."""
        self.config = config
        self.stations = {s.id: s for s in config.owned(registry)}
        self.kinds = [(k, Policy.of(r), r) for r in config.rules if (k := build(r)) is not None]
        self.qc_kinds = [(q, Policy.of(r)) for r in config.rules if (q := build_qc(r)) is not None]
        self.deadman = [r for r in config.rules if isinstance(r, DeadmanRule)]
        self.policies = {r.name: Policy.of(r) for r in config.rules}
        self.rule_kinds = {r.name: r.kind for r in config.rules}
        self.prewarn = Prewarn.of(config.rules, registry)
        self.plans: dict[tuple[str, str], tuple[_Planned, ...]] = {}
        suffix = f".p{config.partition.index}" if config.partition.count > 1 else ""
        headline = getattr(self, "headline", None)
        self.headline = Headline(config.derived.aggregate_station + suffix)
        if headline is not None:
            self.headline.year, self.headline.air_days = headline.year, headline.air_days
            self.headline.good_days = headline.good_days
        self.backfill_s = config.evaluation.backfill_after.total_seconds()
        self.capture_s = {k: i.total_seconds() for k, i in config.derived.capture_interval.items()}

    def restore(self, instances: dict[str, Instance], series: dict[str, Series]) -> None:
        """Start from durable state (after a restart)."""
        self.instances, self.series = instances, series
        self.plans = {}  # they hold objects of the replaced dicts

    def _plan(self, info: StationInfo, parameter: str) -> tuple[_Planned, ...]:
        plan = self.plans.get((info.id, parameter))
        if plan is None:
            plan = self.plans[info.id, parameter] = self._new_plan(info, parameter)
        return plan

    def _new_plan(self, info: StationInfo, parameter: str) -> tuple[_Planned, ...]:
        """The rules that evaluate ``parameter`` at ``info``, in rule order, with their instance keys."""
        probe = Reading(info.id, parameter, None, "", self.start)
        plan = []
        for kind, policy, rule in self.kinds:
            if rule.applies(info) and kind.watches(info, parameter):
                instance = kind.instance(probe)
                plan.append(_Planned(f"{info.id}/{kind.name}/{instance}", kind, policy, instance))
        return tuple(plan)

    def process(self, msg: StationMessage, wall: datetime) -> Output:
        """Evaluate one readings message that arrived at ``wall`` (UTC)."""
        out = Output()
        info = self.stations.get(msg.station)
        if info is None:
            self.unknown += 1
            return out
        self.arrival[msg.station] = wall
        self.wall_s = wall.timestamp()
        if msg.backfill:
            for r in msg.readings:
                key = (r.station, r.parameter)
                self.resent[key] = max(self.resent.get(key, r.ts), r.ts)
        for reading, arrival in self.reorder.push(msg.readings, wall):
            self._reading(info, reading, arrival, out)
        self._water(info, out)
        return out

    def _reading(self, info: StationInfo, r: Reading, wall: datetime, out: Output) -> None:
        self.evaluated += 1
        interval_s = self.capture_s.get(info.kind)
        if interval_s is not None and (day := self.capture.update(info, r, interval_s)) is not None:
            out.derived.append(day)
        if self.water.update(info, r):
            self.water_changed.add(info.id)
        backfilled = (wall - r.ts).total_seconds() > self.backfill_s or self._resent(r)
        if backfilled:
            self.backfilling[info.id] = wall
        series, instances, round_ = self.series, self.instances, self.dirty_round
        plan = self.plans.get((info.id, r.parameter))
        times: tuple[float, float] | None = None  # (reading, arrival) as epoch seconds, once needed
        for planned in self._plan(info, r.parameter) if plan is None else plan:
            key, state = planned.key, planned.state
            if state is None:
                state = series.get(key)
                if state is None:
                    state = series[key] = {}
                planned.state, planned.keep = state, bool(state)
            outcome = planned.evaluate(info, r, state)
            # Saved on the next tick; an always-empty state needs no row (restored as {} without one):
            # 43 % of the series at 20,000 stations, whose rewrite each tick cost the engine's loop.
            if planned.dirtied != round_ and (state or planned.keep):
                self.dirty.add(key)
                planned.dirtied, planned.keep = round_, True
            # Most outcomes are quiet, with no instance to step and nothing derived: nothing to apply.
            if outcome is not None and (
                outcome.level or outcome.derived or planned.inst is not None or key in instances
            ):
                if times is None:
                    times = (r.ts.timestamp(), wall.timestamp())
                self._apply(planned, info, outcome, times, out, backfilled=backfilled)

    def _resent(self, r: Reading) -> bool:
        marked = self.resent.get((r.station, r.parameter))
        return marked is not None and r.ts <= marked

    def qc(self, record: QcRecord, wall: datetime) -> Output:
        """Evaluate one quality-control check that arrived at ``wall`` by every ``qc`` rule that watches it:
        lifecycle changes, and review marks queued for publication with the state they change."""
        out = Output()
        info = self.stations.get(record.station)
        if info is None:
            self.unknown += 1
            return out
        ts = record.ts.timestamp()
        for kind, policy in self.qc_kinds:
            if not kind.watches(info, record):
                continue
            part = kind.instance(record)
            key = f"{info.id}/{kind.name}/{part}"
            state = self.series.setdefault(key, {})
            result = kind.evaluate(record, state)
            if result is None:
                continue
            outcome, marks = result
            out.batch.series[key] = state
            for mark in marks:
                row = review_row(mark)
                out.batch.outbox.append(row)
                out.batch.reviews.append((row[1], mark))
            inst = self.instances.get(key)
            if inst is None and outcome.level == 0:
                continue
            inst = inst or self.instances.setdefault(key, Instance(info.id, kind.name, part))
            inst.backfilled = False
            if (change := step(inst, outcome, ts, policy, wall.timestamp())) is not None:
                self._changed(inst, change, info, ts, out)
        return out

    def status(self, msg: StationStatus, wall: datetime) -> None:
        """Note an ``online`` status message of a known station that arrived at ``wall`` (UTC)."""
        if msg.state is AgentState.ONLINE and msg.station in self.stations:
            self.heard[msg.station] = wall

    def _apply(
        self,
        planned: _Planned,
        info: StationInfo,
        outcome: Outcome,
        times: tuple[float, float],
        out: Output,
        *,
        backfilled: bool,
    ) -> None:
        """Apply the ``outcome`` of one planned rule; ``times`` = (reading, arrival) as epoch seconds."""
        for record in outcome.derived:
            out.derived.append(record)
            if record.index == "aqi_daily":
                self.headline.count_day(record)
        inst = planned.inst
        if inst is None:
            key = planned.key
            inst = self.instances.get(key)
            if inst is None:
                if outcome.level == 0:
                    return
                inst = self.instances[key] = Instance(info.id, planned.kind.name, planned.instance)
            planned.inst = inst
        inst.backfilled = backfilled
        ts, wall_ts = times
        change = step(inst, outcome, ts, planned.policy, wall_ts)
        if change is not None:
            self._changed(inst, change, info, ts, out)

    def _water(self, info: StationInfo, out: Output) -> None:
        if info.id in self.water_changed:
            self.water_changed.discard(info.id)
            ts = max(self.reorder.released.get((info.id, p), self.start) for p in self.water.values[info.id])
            out.derived.append(self.water.result(info, ts))

    def _changed(
        self, inst: Instance, change: Change, info: StationInfo | None, ts: float, out: Output
    ) -> None:
        key = inst.key
        out.batch.instances[key] = inst
        note = notification(inst, change, info, ts, self.rule_kinds.get(inst.rule, ""))
        if inst.backfilled:
            self.deferred[key] = note
            out.batch.facts[f"deferred/{key}"] = note.to_json()
        else:
            if self.deferred.pop(key, None) is not None:
                out.batch.facts[f"deferred/{key}"] = None
            out.notes.append(note)
        if self.prewarn is not None:
            for pre, pre_change in self.prewarn.forward(inst, ts, self.wall_s, self.instances):
                self._changed(pre, pre_change, self.prewarn.stations.get(pre.station), ts, out)

    def tick(self, wall: datetime) -> Output:
        """Timer work at wall clock ``wall``: held readings, deadman, no-data, backfill flush, series."""
        out = Output()
        self.wall_s = wall.timestamp()
        touched: set[str] = set()
        for r, arrival in self.reorder.due(wall):
            self._reading(self.stations[r.station], r, arrival, out)
            touched.add(r.station)
        for station in sorted(touched):
            self._water(self.stations[station], out)
        self._deadman(wall, out)
        self._no_data(wall, out)
        if self.prewarn is not None:
            for pre, change in self.prewarn.expire(self.wall_s, self.instances):
                self._changed(pre, change, self.prewarn.stations.get(pre.station), self.wall_s, out)
        self._flush_backfill(wall, out)
        out.batch.series = {k: self.series[k] for k in self.dirty if k in self.series}
        self.dirty.clear()
        self.dirty_round += 1
        return out

    def _deadman(self, wall: datetime, out: Output) -> None:
        wall_s = wall.timestamp()
        for rule in self.deadman:
            if wall_s - self.deadman_at.get(rule.name, 0.0) < rule.check_every.total_seconds():
                continue
            self.deadman_at[rule.name] = wall_s
            policy = self.policies[rule.name]
            for info in self.stations.values():
                if not rule.applies(info):
                    continue
                heard = self.heard if rule.watch == "status" else self.arrival
                outcome = silent(rule, info, heard.get(info.id, self.start), wall)
                key = f"{info.id}/{rule.name}/{STATION}"
                inst = self.instances.get(key)
                if inst is None and outcome.level == 0:
                    continue
                inst = inst or self.instances.setdefault(key, Instance(info.id, rule.name, STATION))
                inst.backfilled = False
                if (change := step(inst, outcome, wall_s, policy, wall_s)) is not None:
                    self._changed(inst, change, info, wall_s, out)

    def _no_data(self, wall: datetime, out: Output) -> None:
        wall_s = wall.timestamp()
        for inst in list(self.instances.values()):
            policy = self.policies.get(inst.rule)
            if inst.open and policy is not None and (change := no_data(inst, policy, wall_s)) is not None:
                self._changed(inst, change, self.stations.get(inst.station), wall_s, out)

    def _flush_backfill(self, wall: datetime, out: Output) -> None:
        quiet = self.config.evaluation.tick.total_seconds()
        for station, last in list(self.backfilling.items()):
            if (wall - last).total_seconds() < quiet:
                continue
            del self.backfilling[station]
            for key in [k for k, n in self.deferred.items() if n.station == station]:
                out.notes.append(self.deferred.pop(key))
                out.batch.facts[f"deferred/{key}"] = None

    def headline_record(self, wall: datetime) -> Derived:
        """The registry-wide figures now."""
        return self.headline.record(tuple(self.stations.values()), self.water.published, wall)


def utc(epoch: float) -> datetime:
    """Epoch seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)
