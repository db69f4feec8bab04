"""Upstream -> downstream pre-warnings (``kind = "upstream"`` rules) around the evaluator's lifecycle.

Driven by changes, not readings: each lifecycle change of a *source* instance (a section, target or trend
rule an upstream rule names) is looked at, and on the timer the open pre-warnings whose arrival window has
passed are resolved. One instance per downstream section, upstream rule and source instance: key
``<downstream>/<rule>/<source station>.<source rule>.<parameter>``, topic
``warnings/<downstream>/<rule>.<source station>.<source rule>.<parameter>``.

- raised when the source fires (an exceedance at ``min_level`` or above, or a rising trend), once per
  source episode: a pre-warning that resolved after its source began is not raised again until the source
  resolves and fires anew; not raised when its window (plus ``margin``) has already passed (backfill);
- the window is fixed when raised (:func:`stationpipe.rules.kinds.upstream.window`), kept in the instance
  (``expected`` the earliest, ``until`` the latest arrival), so it survives a restart with the instances;
- resolved when the source resolves (or falls below ``min_level``), or ``margin`` after ``until``
  (wall clock, on the timer).

Pre-warnings are raised by the engine that owns the source section (partitions), for any registry section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from stationpipe.kernel.registry import Registry, StationInfo
from stationpipe.kernel.rivers import Network, Reach
from stationpipe.rules.kinds.upstream import Cause, outcome, resolved_words, selected, window
from stationpipe.rules.lifecycle import Change, Instance, Phase, Policy, close, step
from stationpipe.rules.rule_models import AnyRule, TrendRule, UpstreamRule

#: A pre-warning instance and the change to notify.
Changed = tuple[Instance, Change]


@dataclass(frozen=True)
class Prewarn:
    """The upstream rules of a configuration with the registry's rivers."""

    rules: tuple[UpstreamRule, ...]
    causes: dict[str, Cause]  # source rule name -> what its warnings say
    network: Network
    stations: dict[str, StationInfo]  # the whole registry: downstream sections may be in other partitions

    @classmethod
    def of(cls, rules: tuple[AnyRule, ...], registry: Registry) -> Prewarn | None:
        """``None`` when no rule is an upstream rule."""
        upstream = tuple(r for r in rules if isinstance(r, UpstreamRule))
        if not upstream:
            return None
        causes: dict[str, Cause] = {
            r.name: "trend" if isinstance(r, TrendRule) else "exceedance" for r in rules
        }
        stations = {s.id: s for s in registry.stations}
        return cls(upstream, causes, registry.network(), stations)

    def forward(self, src: Instance, ts: float, wall: float, instances: dict[str, Instance]) -> list[Changed]:
        """The pre-warning changes a change of ``src`` (at reading time ``ts``) causes."""
        out: list[Changed] = []
        cause = self.causes.get(src.rule)
        info = self.stations.get(src.station)
        if cause is None or info is None or src.parameter is None:
            return out
        for rule in self.rules:
            if src.rule not in rule.sources or (rule.parameters and src.parameter not in rule.parameters):
                continue
            live = src.phase is Phase.FIRING and (cause == "trend" or src.level >= rule.min_level)
            for reach in selected(rule, self.network.downstream(src.station)):
                down = self.stations.get(reach.station)
                if down is None or not rule.applies(down):
                    continue
                part = f"{src.station}.{src.rule}.{src.parameter}"
                key = f"{reach.station}/{rule.name}/{part}"
                if live:
                    source = _Source(src, info, cause, part)
                    change = _raise(rule, source, reach, times=(ts, wall), key=key, instances=instances)
                else:
                    change = _end(instances.get(key), (ts, wall), "source")
                if change is not None:
                    out.append(change)
        return out

    def expire(self, wall: float, instances: dict[str, Instance]) -> list[Changed]:
        """Resolve the open pre-warnings ``margin`` past the end of their window."""
        margins = {r.name: r.margin.total_seconds() for r in self.rules}
        out: list[Changed] = []
        for inst in instances.values():
            margin = margins.get(inst.rule)
            if margin is None or not inst.open or inst.until is None or wall < inst.until + margin:
                continue
            if (change := _end(inst, (wall, wall), "window")) is not None:
                out.append(change)
        return out


class _Source(NamedTuple):
    """The source instance, its section, what it says, and the pre-warning instance part it gives."""

    inst: Instance
    info: StationInfo
    cause: Cause
    part: str


def _raise(
    rule: UpstreamRule,
    source: _Source,
    reach: Reach,
    *,
    times: tuple[float, float],
    key: str,
    instances: dict[str, Instance],
) -> Changed | None:
    """Raise the pre-warning ``key`` at ``reach`` unless raised in this source episode or already past."""
    (ts, wall), src = times, source.inst
    inst = instances.get(key)
    if inst is not None and (inst.open or _ended_since(inst, src)):
        return None  # already raised in this source episode
    base = src.expected if source.cause == "trend" and src.expected is not None else ts
    early, late = window(base, reach)
    if late + rule.margin.total_seconds() <= wall:
        return None  # it has come and gone already (a backfilled source)
    assert src.parameter is not None  # forward() checked it
    o = outcome(
        rule,
        source.info,
        src.parameter,
        source.cause,
        reach,
        span=(early, late),
        value=(src.value, src.limit),
    )
    if inst is None:
        inst = instances[key] = Instance(reach.station, rule.name, source.part)
    inst.until, inst.backfilled = late, False
    change = step(inst, o, ts, _POLICY, wall)
    return (inst, change) if change is not None else None


def _ended_since(inst: Instance, src: Instance) -> bool:
    """The pre-warning resolved after the source's episode began."""
    return inst.ended is not None and src.since is not None and inst.ended >= src.since


#: Pre-warnings fire with their source (``for`` is refused on upstream rules).
_POLICY = Policy(0.0, 0.0, "keep", 0.0)


def _end(
    inst: Instance | None, times: tuple[float, float], why: Literal["source", "window"]
) -> Changed | None:
    """Resolve an open pre-warning at ``times`` (reading time, wall clock), saying why."""
    if inst is None or not inst.open:
        return None
    ts, inst.seen_wall = times
    zh, en = resolved_words(why)
    inst.zh, inst.en = f"{inst.zh} {zh}", f"{inst.en} {en}"
    change = close(inst, ts)
    return (inst, change) if change is not None else None
