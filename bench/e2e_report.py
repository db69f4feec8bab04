"""Figures of one end-to-end run, computed from what the probes saw, and their printout."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.e2e_probe import Key, Seen, percentile


@dataclass(frozen=True)
class Window:
    """The measured window ``[t0, t1)`` (epoch seconds), a whole number of poll ticks."""

    t0: float
    t1: float
    interval: float

    @property
    def ticks(self) -> int:
        """Poll ticks in the window."""
        return round((self.t1 - self.t0) / self.interval)

    def holds(self, ts: float) -> bool:
        """True when the instant ``ts`` lies in the window."""
        return self.t0 <= ts < self.t1


@dataclass
class ProcessFigures:
    """CPU over the window (% of one core) and the largest RSS sampled in it (MB)."""

    name: str
    cpu_pct: float
    rss_mb: float


@dataclass
class Figures:
    """Everything one run reports; ``problems`` lists why it does not count as sustained."""

    stations: int
    devices: int
    packs: int
    window: Window
    values_per_poll: int
    polls_demanded: int = 0
    polls_at_broker: int = 0
    readings_at_broker: int = 0
    flags: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    drain_s: float = math.nan
    produced_msgs: int = 0
    delivered_msgs: int = 0
    waiting_msgs: int = 0
    qc_msgs: int = 0
    lost_edge_msgs: int = 0
    broker_latency: list[float] = field(default_factory=list)
    store_latency: list[float] = field(default_factory=list)
    store_resolution: list[float] = field(default_factory=list)
    sample_unstored: int = 0
    collector: dict[str, float] = field(default_factory=dict)
    processes: list[ProcessFigures] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Why this run is not a zero-loss, no-backlog run (empty when it is)."""
        out = []
        if self.polls_at_broker < self.polls_demanded:
            out.append(f"{self.polls_demanded - self.polls_at_broker} polls missing at the broker")
        if self.stored < self.readings_at_broker:
            out.append(f"{self.readings_at_broker - self.stored} readings not stored after the drain")
        if self.flags.get("B"):
            out.append(f"{self.flags['B']} readings flagged B (request failed or timed out)")
        if self.lost_edge_msgs:
            out.append(f"{self.lost_edge_msgs} messages produced but neither delivered nor spooled")
        for what, lat in (("broker", self.broker_latency), ("stored", self.store_latency)):
            if not lat or percentile(lat, 0.99) >= self.window.interval:
                out.append(f"{what} latency p99 not below the poll interval (backlog)")
        if self.crashed:
            out.append(f"processes exited during the run: {', '.join(self.crashed)}")
        return out


def count_polls(fig: Figures, seen: list[Seen], phase: Callable[[str], float] = lambda _: 0.0) -> None:
    """Polls and readings in the window at the broker (first copy of each (station, seq) only), the
    broker latency of each of those readings, and the unique messages seen overall. A poll counts for
    the tick it was meant for: its station's ``phase`` is taken off its timestamp (a poll sent late never
    lands in the next tick's slot)."""
    first: dict[tuple[str, int], Seen] = {}
    for s in seen:
        first.setdefault((s.station, s.seq), s)
    fig.delivered_msgs = len(first)
    polls = set()
    for s in first.values():
        for _, ts_ns, flag in s.readings:
            ts = ts_ns / 1e9
            if fig.window.holds(ts):
                fig.readings_at_broker += 1
                fig.flags[flag] += 1
                fig.broker_latency.append(s.arrived - ts)
        tick = math.floor((s.ts - phase(s.station)) / fig.window.interval)
        if s.readings and fig.window.holds(tick * fig.window.interval):
            polls.add((s.station, s.device, tick))
    fig.polls_at_broker = len(polls)


def count_stored(
    fig: Figures, seen: list[Seen], sample: frozenset[str], stored: dict[Key, tuple[float, float]]
) -> None:
    """Store latency of the sample stations' readings in the window (middle of each point's bounds)."""
    keys = {(s.station, p, ts_ns) for s in seen if s.station in sample for p, ts_ns, _ in s.readings}
    for key in keys:
        if not fig.window.holds(key[2] / 1e9):
            continue
        bounds = stored.get(key)
        if bounds is None:
            fig.sample_unstored += 1
            continue
        fig.store_latency.append((bounds[0] + bounds[1]) / 2 - key[2] / 1e9)
        fig.store_resolution.append(bounds[1] - bounds[0])


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:,.0f} ms" if values else "n/a"


def print_figures(fig: Figures) -> None:
    """The run's report on stdout."""
    w = fig.window
    rate = fig.readings_at_broker / (w.t1 - w.t0)
    print(
        f"stations {fig.stations} ({fig.devices} devices, {fig.values_per_poll} values per poll round, "
        f"every {w.interval:g} s), {fig.packs} edge packs; window {w.t1 - w.t0:.0f} s ({w.ticks} ticks)"
    )
    demand = fig.values_per_poll / w.interval
    print(f"  demanded     {demand:,.0f} values/s; at the broker {rate:,.0f} values/s")
    print(f"  polls        {fig.polls_at_broker:,} of {fig.polls_demanded:,} at the broker")
    flags = ", ".join(f"{k} {v:,}" for k, v in sorted(fig.flags.items()))
    print(f"  readings     {fig.readings_at_broker:,} at the broker ({flags}); {fig.stored:,} stored")
    print(f"  drain        {fig.drain_s:.1f} s after the edge packs stopped until every reading was stored")
    print(
        f"  edge spools  {fig.produced_msgs:,} messages produced, {fig.delivered_msgs:,} readings and "
        f"{fig.qc_msgs:,} QC records delivered, "
        f"{fig.waiting_msgs:,} still spooled at stop, {fig.lost_edge_msgs:,} lost"
    )
    print(
        f"  latency      read -> broker subscriber: p50 {_ms(fig.broker_latency, 0.5)}, "
        f"p99 {_ms(fig.broker_latency, 0.99)}, max {_ms(fig.broker_latency, 1.0)} "
        f"(n={len(fig.broker_latency):,})"
    )
    res = sum(fig.store_resolution) / len(fig.store_resolution) if fig.store_resolution else math.nan
    print(
        f"               read -> stored in InfluxDB: p50 {_ms(fig.store_latency, 0.5)}, "
        f"p99 {_ms(fig.store_latency, 0.99)}, max {_ms(fig.store_latency, 1.0)} "
        f"(sample n={len(fig.store_latency):,}, resolution ±{res * 500:.0f} ms, {fig.sample_unstored} unseen)"
    )
    print("  collector    " + ", ".join(f"{k} {v:,.0f}" for k, v in fig.collector.items()))
    print(f"  {'process':<14}{'CPU % of one core':>18}{'max RSS MB':>12}")
    for p in fig.processes:
        print(f"  {p.name:<14}{p.cpu_pct:>18.1f}{p.rss_mb:>12.1f}")
    verdict = "zero loss, no backlog" if not fig.problems else "; ".join(fig.problems)
    print(f"  verdict      {verdict}")
