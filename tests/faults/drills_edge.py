"""Faults at the edge: its uplink cut (the spool grows and drains, or overflows), its clock running
ahead, a Modbus device dying and coming back. See tests/faults/drills.py."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

import httpx

from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.kernel.reading import utc_now
from stationpipe.testbed.proxy import Cut, Proxy
from stationpipe.testbed.services import free_port
from tests.faults.harness import Plan, Run, deployment, hold, need, wait, water_stations
from tests.faults.ledger import Key, wholly_lost
from tests.faults.outcome import Outcome, kill
from tests.integration.edge_helpers import two_increasing_runs

# --- the uplink ---------------------------------------------------------------------------------------


def _watch_depth(
    run: Run, station: str, samples: list[int], until: Callable[[], bool], within: float
) -> bool:
    """Sample a spool's depth every 0.25 s until ``until()`` (or the deadline)."""

    def sample() -> bool:
        samples.append(run.depth(station))
        return until()

    return wait(sample, within, period=0.25)


def uplink_cut(plan: Plan, kind: Cut = "blackhole") -> Outcome:
    """One station's uplink cut for ``plan.seconds`` ("minutes"): its spool grows, then drains in order.

    ``blackhole``: packets vanish (a cable pulled); ``reject``: connections are reset (a blocked port).
    """
    stations = water_stations(plan.stations, "fk-uplink")
    victim = stations[0].id
    proxy = Proxy(0)
    with deployment(f"uplink-cut-{kind}", plan, stations, proxies={victim: proxy}) as run:
        run.flowing()
        proxy.cut(kind)
        depths: list[int] = []
        ends = time.monotonic() + plan.seconds
        _watch_depth(run, victim, depths, lambda: time.monotonic() >= ends, plan.seconds + 1)
        peak = max(depths)
        proxy.restore()
        drained = _watch_depth(run, victim, depths, lambda: run.depth(victim) == 0, plan.settle)
        arrivals = run.probe.arrivals(victim)
        readings, records, found = run.finish()
    seen: dict[str, object] = {
        "spool depth grew to": peak,
        "drained": drained,
        "arrived in seq order (backlog and live lanes)": two_increasing_runs(arrivals),
    }
    out = Outcome(readings, records=records, seen=seen, found=found)
    out.print()
    return out


def _first_readings_seq(start: int, checks: Collection[int]) -> int:
    """The first seq from ``start`` on that is a readings message (not a QC check sharing the seqs)."""
    seq = start
    while seq in checks:
        seq += 1
    return seq


def edge_spool_full(plan: Plan, max_messages: int = 10) -> Outcome:
    """The uplink cut until the edge spool overflows: the oldest messages are dropped and counted.

    The edge keeps dropping after the link is back until its reconnect backoff lets it in again.
    """
    stations = water_stations(plan.stations, "fk-spool")
    victim = stations[0].id
    bounds = {victim: f"[spool]\nmax_messages = {max_messages}\n"}
    proxy = Proxy(0)
    with deployment("edge-spool-full", plan, stations, proxies={victim: proxy}, edge_extra=bounds) as run:
        run.flowing()
        proxy.cut("reject")
        at_cut = max(run.record(victim).messages)  # every later seq is produced after the cut
        hold(plan.seconds, run.pipe)
        during = max(run.record(victim).messages)
        proxy.restore()
        readings, records, found = run.finish()
    lost = wholly_lost(records[0], found)
    seen: dict[str, object] = {
        "messages produced during the cut (more until the edge has reconnected)": during - at_cut,
        "edge spool bound": max_messages,
        "edge reported dropped": records[0].dropped,
        "lost seqs": f"{lost[0]}..{lost[-1]}" if lost else "none",
        # QC checks share the seqs: one among the lost readings messages is no gap
        "lost seqs contiguous": (
            lost == [s for s in range(lost[0], lost[-1] + 1) if s not in records[0].checks] if lost else True
        ),
        # the drops begin at the oldest message not acknowledged when the link went (a QC check's seq
        # there is no readings message: the oldest is the first seq after the cut that is not a check)
        "lost seqs start at the oldest unacknowledged": bool(lost) and lost[0] <= _first_readings_seq(
            at_cut + 1, records[0].checks
        ),
    }
    out = Outcome(readings, records=records, seen=seen, found=found)
    out.print()
    return out


# --- the station -------------------------------------------------------------------------------------


def clock_skew(plan: Plan, skew: float = 300.0) -> Outcome:
    """One edge's clock ``skew`` seconds fast (libfaketime): its readings are stored, marked ``ahead``.

    The library is preloaded through ``env`` (which execs the agent in its own process) rather than the
    ``faketime`` wrapper, which would fork it: a SIGTERM to the wrapper would leave the agent running.
    """
    stations = water_stations(plan.stations, "fk-clock")
    victim = stations[0].id
    fast = [
        "env",
        f"LD_PRELOAD={libfaketime()}",
        f"FAKETIME=+{skew:g}s",
        "FAKETIME_DONT_FAKE_MONOTONIC=1",  # timeouts and backoff keep real time
    ]
    with deployment("clock-skew", plan, stations, wrap={f"edge-{victim}": fast}) as run:
        run.flowing()
        hold(plan.seconds, run.pipe)
        readings, records, found = run.finish(extra=("ahead",))
    marked = {
        st.id: [f[2] for k, f in found.items() if k[0] == st.id and f[2] is not None] for st in stations
    }
    counts = {st: len([k for k in found if k[0] == st]) for st in marked}
    seen: dict[str, object] = {
        "edge clock ahead by": f"{skew:g} s",
        "marked ahead": ", ".join(f"{st} {len(m)} of {counts[st]}" for st, m in marked.items()),
        "ahead field range": f"{min(marked[victim], default=0):.1f}..{max(marked[victim], default=0):.1f} s",
    }
    out = Outcome(readings, records=records, seen=seen, found=found)
    out.print()
    return out


def libfaketime() -> Path:
    """The preloadable libfaketime of the Debian package ``faketime`` (in scripts/lib.sh)."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")) + sorted(
        Path("/usr/lib/faketime").glob("libfaketime.so.1")
    )
    if not found:
        raise AssertionError("libfaketime not found: install the Debian package 'faketime' (scripts/lib.sh)")
    return found[0]


def device_dies(plan: Plan, how: Literal["silent", "sim-kill"] = "silent") -> Outcome:
    """A Modbus device dies for ``plan.seconds`` and comes back: the nutrient analyser of one station
    stops answering (``silent``), or the simulator serving every station is SIGKILLed (``sim-kill``:
    connections refused) and restarted. Its readings are produced flagged B meanwhile, and stored."""
    stations = water_stations(plan.stations, "fk-dev")
    victim = stations[0].id
    control = free_port()
    scenario = f'[[scenarios]]\nname = "dead"\nkind = "silent"\ndevices = ["{victim}-nutrients"]\n'
    fault = "device-dies" if how == "silent" else "device-dies-sim-kill"
    with deployment(fault, plan, stations, scenarios=scenario, control_port=control) as run:
        run.flowing()
        died = timestamp_ns(utc_now())
        _device(run, control, "start" if how == "silent" else "kill")
        hold(plan.seconds, run.pipe, expect_dead=frozenset({"sim"}))
        back = timestamp_ns(utc_now())
        _device(run, control, "stop" if how == "silent" else "restart")
        answering = lambda: _answering_since(run.stored(victim), victim, back) is not None  # noqa: E731
        need(answering, plan.settle, "the nutrient analyser answering again")
        readings, records, found = run.finish()
    flagged = Counter(
        (k[0], "nutrients" if k[1] in NUTRIENTS else "sonde")
        for k, f in found.items()
        if died <= k[2] <= back and f[1] == "B"
    )
    seen: dict[str, object] = {
        "flag B during the outage": {(st.id, dev): flagged[st.id, dev] for st in stations for dev in DEVICES},
        "answering again after": f"{((_answering_since(found, victim, back) or back) - back) / 1e9:.1f} s",
    }
    out = Outcome(readings, records=records, seen=seen, found=found)
    out.print()
    return out


NUTRIENTS = frozenset({"codmn", "nh3n", "tp", "tn"})  # the nutrient analyser's parameters
DEVICES = ("nutrients", "sonde")


def _answering_since(found: dict[Key, tuple[object, ...]], station: str, after: int) -> int | None:
    """The time (ns) of the first N-flagged NH3-N reading of ``station`` after ``after``, if any."""
    times = [k[2] for k, f in found.items() if k[0] == station and k[1] == "nh3n" and k[2] > after]
    good = [t for t in times if found[station, "nh3n", t][1] == "N"]
    return min(good, default=None)


def _device(run: Run, control: int, action: str) -> None:
    """Start/stop the silent scenario on the control channel, or kill/restart the simulator."""
    if action == "kill":
        kill(run.pipe.procs["sim"])
    elif action == "restart":
        run.pipe.restart("sim")
    else:
        resp = httpx.post(f"http://127.0.0.1:{control}/scenarios/dead/{action}", timeout=5)
        resp.raise_for_status()
