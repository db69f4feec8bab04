"""Figures of one central capacity run (``bench/central.py``) and their printout."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.e2e_probe import percentile
from bench.e2e_report import ProcessFigures

CENTRAL = ("collector", "rules", "mosquitto", "influxdb")


@dataclass
class Run:
    """Everything one run reports; ``problems`` lists why it does not count as sustained."""

    stations: int
    devices: int
    interval: float
    phase: bool
    t0: float = 0.0
    t1: float = 0.0
    emulator: dict[str, Any] = field(default_factory=dict)
    stored: int = 0
    drain_s: float = math.nan
    store_latency: list[float] = field(default_factory=list)
    store_resolution: list[float] = field(default_factory=list)
    sample_unstored: int = 0
    warn_latency: list[float] = field(default_factory=list)
    warnings_seen: int = 0
    collector: dict[str, float] = field(default_factory=dict)
    processes: list[ProcessFigures] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    p99_limit: float = 2.0

    @property
    def span(self) -> float:
        """The measured window, seconds."""
        return self.t1 - self.t0

    @property
    def produced(self) -> int:
        """Readings the emulator produced with their instant in the window."""
        return int(self.emulator.get("window_readings", 0))

    @property
    def lost(self) -> int:
        """Readings produced in the window and not stored after the drain."""
        return max(0, self.produced - self.stored)

    @property
    def p99_stored(self) -> float:
        """p99 read -> stored, seconds (NaN without samples)."""
        return percentile(self.store_latency, 0.99)

    @property
    def central_cpu(self) -> float:
        """CPU of the central services over the window, % of one core (summed)."""
        return sum(p.cpu_pct for p in self.processes if p.name in CENTRAL)

    @property
    def problems(self) -> list[str]:
        """Why this run is not sustained (empty when it is)."""
        out = []
        if self.lost:
            out.append(f"{self.lost} readings of the window not stored after the drain")
        if not self.emulator.get("all_acked", False):
            out.append(f"{self.emulator.get('unacked', '?')} messages never acknowledged by the broker")
        limit = min(self.p99_limit, self.interval)
        if not self.store_latency or not self.p99_stored < limit:
            out.append(f"p99 read -> stored not below {limit:g} s")
        if self.sample_unstored:
            out.append(f"{self.sample_unstored} sampled readings never seen stored")
        if self.crashed:
            out.append(f"processes exited during the run: {', '.join(self.crashed)}")
        return out

    @property
    def emulator_bound(self) -> bool:
        """True when the emulator itself fell behind the clock (p99 lateness above a second)."""
        return float(self.emulator.get("late_p99_ms", 0.0)) > 1000.0


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:,.0f} ms" if values else "n/a"


def print_run(run: Run) -> None:
    """The run's report on stdout (not the final verdict line)."""
    em, span = run.emulator, run.span or math.nan
    msgs, vals = em.get("window_messages", 0) / span, run.produced / span
    phase = "with per-station phase offsets" if run.phase else "all on the tick"
    print(
        f"stations {run.stations:,} ({run.devices:,} devices, 10 parameters each) every {run.interval:g} s, "
        f"{phase}; window {span:.0f} s"
    )
    print(f"  rate         {msgs:,.0f} messages/s, {vals:,.0f} values/s (produced in the window)")
    print(
        f"  loss         {run.produced:,} readings produced in the window, {run.stored:,} stored, "
        f"lost {run.lost:,}"
    )
    print(f"  drain        {run.drain_s:.1f} s after the last tick until every reading was stored")
    res = sum(run.store_resolution) / len(run.store_resolution) if run.store_resolution else math.nan
    wide = max(run.store_resolution, default=math.nan)
    print(
        f"  latency      read -> stored: p50 {_ms(run.store_latency, 0.5)}, "
        f"p99 {_ms(run.store_latency, 0.99)}, max {_ms(run.store_latency, 1.0)} "
        f"(n={len(run.store_latency):,}, resolution {res * 1000:.0f} ms, widest {wide * 1000:.0f} ms)"
    )
    print(
        f"  latency      read -> warning: p50 {_ms(run.warn_latency, 0.5)}, "
        f"p99 {_ms(run.warn_latency, 0.99)}, max {_ms(run.warn_latency, 1.0)} (n={len(run.warn_latency):,}; "
        f"{run.warnings_seen:,} warning messages received in all)"
    )
    print(
        f"  emulator     {em.get('messages', 0):,} messages, {em.get('cpu_s', 0.0):.2f} CPU-s in all; "
        f"handed to the client late by p50 {em.get('late_p50_ms', 0.0):,.0f} ms, "
        f"p99 {em.get('late_p99_ms', 0.0):,.0f} ms" + ("  (EMULATOR-BOUND)" if run.emulator_bound else "")
    )
    collector = ", ".join(f"{k} {v:,.0f}" for k, v in run.collector.items())
    print(f"  collector    {collector}")
    for p in run.processes:
        print(f"  process      {p.name:<14} CPU {p.cpu_pct:6.1f} % of one core   RSS {p.rss_mb:7.1f} MB")
    print(f"  central      CPU {run.central_cpu:.1f} % of one core (collector, rules, Mosquitto, InfluxDB)")
    print(f"  load average {run.load[0]:.2f} {run.load[1]:.2f} {run.load[2]:.2f} (at the end of the window)")
    for why in run.problems:
        print(f"  problem      {why}")


def verdict(run: Run) -> str:
    """The last line: ``stations N interval Ts: sustained|not sustained; lost L; p99 read->stored X ms``."""
    state = "not sustained" if run.problems else "sustained"
    p99 = f"{run.p99_stored * 1000:.0f}" if run.store_latency else "nan"
    head = f"stations {run.stations} interval {run.interval:g}s"
    return f"{head}: {state}; lost {run.lost}; p99 read->stored {p99} ms"


def print_ratio(base: Run, run: Run) -> None:
    """The run against its baseline (same interval, fewer stations): how the centre scales."""
    scale = run.produced / base.produced if base.produced else math.nan
    cpu = run.central_cpu / base.central_cpu if base.central_cpu else math.nan
    p99 = run.p99_stored / base.p99_stored if base.store_latency and run.store_latency else math.nan
    print(
        f"ratio {run.stations:,}/{base.stations:,} stations: values x{scale:.2f}, central CPU x{cpu:.2f}, "
        f"p99 read->stored x{p99:.2f}"
    )
