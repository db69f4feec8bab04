"""End to end: a simulated fleet through the whole pipeline (Modbus -> edge -> MQTT -> collector -> InfluxDB,
with the rules engine on the same broker), measured from outside.

    .venv/bin/python -m bench.e2e --stations 1000 --seconds 120 [--interval 10] [--per-pack 250] [--phase off]
    .venv/bin/python -m bench.e2e --ramp --seconds 60 [--steps 500,1000,1500,2000,2500,3000,4000,5000]
    .venv/bin/python -m bench.e2e --smoke [--ramp]   # 3 stations (ramp: one step, 2), every 1 s for 2 s

What runs (all real processes, fresh per run): Mosquitto and InfluxDB 1.x (``stationpipe.testbed.services``);
``stationpipe sim --fleet N`` serving N stations of 10 parameters each (two in three water: a sonde of 5
parameters, a nutrient analyser of 4 and a chlorophyll-a analyser of 1; one in three air: a logger of 6
and a weather station of 4) on Modbus TCP; the N edge agents, polling every ``--interval`` s, each at
its station's own phase in the interval (``--phase auto``, the edge's default) or all on the clock grid
(``--phase off``), hosted ``--per-pack`` agents per process by ``bench/edge_pack.py`` (the real edge
agent's ``run`` per station in one TaskGroup: one agent per process costs ~50 MB and 1,000 of them do
not fit this machine); one
``stationpipe collector`` (production batch settings); one ``stationpipe rules`` with every rule of
``deploy/config/rules.example.toml`` (no delivery but MQTT: no Alertmanager, webhook, DingTalk, WeCom,
SMS or e-mail).

Method. A window of whole poll ticks ``[t0, t1)`` starts at the first tick after every station has
published once; figures count readings whose own timestamp (the instant the instrument was read) lies
in the window. The edge packs are stopped half an interval after ``t1``; then the benchmark waits
(``--drain`` s at most) until InfluxDB holds every window reading the subscriber saw.

* Delivery: a plain QoS 1 subscriber on ``stations/+/readings`` records every message (first copy of
  each station/seq). Polls demanded = devices x ticks; a poll is delivered when a message of that
  device meant for that tick (its timestamp less its station's phase) reached the subscriber. Stored =
  ``count(flag)`` of ``readings`` in the window, compared with the readings the subscriber saw. The edge
  spools give messages produced (their ``next_seq``) and those still waiting at stop; produced minus
  delivered (readings, and the QC records on ``stations/+/qc``) minus waiting = lost.
* Latency read -> broker: the subscriber's arrival instant minus each reading's own timestamp (same
  clock), every reading of the window.
* Latency read -> stored: a sample of ``--sample`` stations is queried in InfluxDB every 0.2 s; a point
  first returned by query i became visible between the start of query i-1 and the end of query i, and
  its store instant is the middle of that interval (resolution printed). Minus the reading's timestamp.
* CPU: (user + system) seconds over the window from /proc, as % of one core; RSS: the largest sample
  (every 2 s) in the window.
* Sustained (for ``--ramp``): every demanded poll delivered, every reading stored, no reading flagged B
  (a request that failed or timed out), nothing lost at the edge, and p99 of both latencies below the
  poll interval (no backlog). The ramp steps up until a step fails and prints the largest that passed.

The benchmark processes (the subscriber, the sampler) run on the same 2 cores as the pipeline. Bounded:
every wait has a deadline; every child is stopped on exit (and gets SIGTERM if this process dies).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import time
from collections.abc import Callable
from types import FrameType

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import smoke
from bench.e2e_probe import StoreSampler, Subscriber, influx_count, stop_task
from bench.e2e_report import Figures, ProcessFigures, Window, count_polls, count_stored, print_figures
from bench.e2e_stack import Stack, points_per_poll
from bench.procstat import Usage, usage
from stationpipe.edge.config import station_phase
from stationpipe.testbed.services import running_services

_COLLECTOR_METRICS = {
    "stationpipe_collector_points_written_total": "points written",
    "stationpipe_collector_dead_letters_total": "dead letters",
    "stationpipe_collector_write_retries_total": "write retries",
    "stationpipe_collector_unknown_station_messages_total": "unknown-station messages",
}
SMOKE = {"stations": 3, "seconds": 2.0, "interval": 1.0, "sample": 3, "drain": 20.0, "steps": [2]}


def _collector_metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    out: dict[str, float] = dict.fromkeys(_COLLECTOR_METRICS.values(), 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in _COLLECTOR_METRICS:
                out[_COLLECTOR_METRICS[sample.name]] += sample.value
    return out


def _usage_all(pids: dict[str, int]) -> dict[str, Usage]:
    out = {}
    for name, pid in pids.items():
        try:
            out[name] = usage(pid)
        except OSError:
            continue  # exited: reported as crashed
    return out


async def _sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.time()))


async def _watch(stack: Stack, window: Window) -> list[ProcessFigures]:
    """Sample every process during the window: CPU delta over it, largest RSS."""
    pids = stack.pids() | {"bench (self)": os.getpid()}
    await _sleep_until(window.t0)
    start, rss = _usage_all(pids), dict.fromkeys(pids, 0.0)
    while time.time() < window.t1:
        for name, u in _usage_all(pids).items():
            rss[name] = max(rss[name], u.rss_mb)
        await asyncio.sleep(min(2.0, max(0.0, window.t1 - time.time())))
    end = _usage_all(pids)
    span = window.t1 - window.t0
    return [
        ProcessFigures(name, 100 * (end[name].cpu_s - start[name].cpu_s) / span, rss[name])
        for name in pids
        if name in start and name in end
    ]


async def _first_round(stack: Stack, sub: Subscriber, limit: float) -> None:
    deadline = time.monotonic() + limit
    while len(sub.stations) < stack.stations:
        dead = [n for n, p in stack.procs.items() if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = f"exited: {dead}" if dead else f"only {len(sub.stations)} stations after {limit:.0f} s"
            raise RuntimeError(f"start-up failed ({why})\n{stack.log_tail(dead[0]) if dead else ''}")
        await asyncio.sleep(0.5)  # polling our own counter, bounded by the deadline


async def _drain(stack: Stack, fig: Figures, sub: Subscriber, limit: float) -> None:
    stopped = time.time()
    await sub.quiet(2.0, limit)
    deadline = time.monotonic() + limit
    url, db = stack.services.influx.url, stack.services.influx.database
    unique = {(s.station, s.seq): s for s in sub.seen}.values()
    target = sum(1 for s in unique for r in s.readings if fig.window.holds(r[1] / 1e9))
    while True:
        fig.stored = await influx_count(url, db, fig.window.t0, fig.window.t1)
        if fig.stored >= target:
            fig.drain_s = time.time() - stopped
            return
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)  # polling InfluxDB, bounded by the deadline


async def observe(stack: Stack, fig: Figures, args: argparse.Namespace) -> None:
    """Start the edge packs under observation; measure the window; stop them; wait for the drain."""
    ids = [st.info.id for st in stack.fleet]
    sample = ids[:: max(1, len(ids) // args.sample)]
    sampler = StoreSampler(stack.services.influx.url, stack.services.influx.database, sample)
    sub = Subscriber(stack.services.mosquitto.port, frozenset(sample), sampler.pending)
    tasks = [asyncio.create_task(sub.run()), asyncio.create_task(sampler.run())]
    try:
        async with asyncio.timeout(30):
            await sub.ready.wait()
        stack.start_packs()
        await _first_round(stack, sub, 2 * args.interval + 60 + stack.stations / 20)
        t0 = (math.floor(time.time() / args.interval) + 1) * args.interval
        fig.window = Window(t0, t0 + math.ceil(args.seconds / args.interval) * args.interval, args.interval)
        fig.processes = await _watch(stack, fig.window)
        fig.crashed = [n for n, p in stack.procs.items() if p.poll() is not None]
        await _sleep_until(fig.window.t1 + args.interval / 2)
        await asyncio.to_thread(stack.stop, [n for n in stack.procs if n.startswith("pack-")])
        await _drain(stack, fig, sub, args.drain)
        fig.collector = _collector_metrics(stack.metrics_port)
    finally:
        for task in tasks:
            await stop_task(task)
    count_polls(fig, sub.seen, _phases(args))
    count_stored(fig, sub.seen, frozenset(sample), sampler.stored)
    produced, waiting = stack.spools()
    delivered = {(s.station, s.seq) for s in sub.seen}
    fig.produced_msgs = produced
    fig.waiting_msgs = sum(len(v) for v in waiting.values())
    accounted = delivered | {(st, seq) for st, seqs in waiting.items() for seq in seqs}
    fig.qc_msgs = len(sub.qc)
    fig.lost_edge_msgs = produced - len(accounted) - fig.qc_msgs


def _phases(args: argparse.Namespace) -> Callable[[str], float]:
    """Each station's poll phase as its edge computes it (``poll_phase`` auto or off)."""
    if args.phase == "off":
        return lambda _: 0.0
    return lambda station: station_phase(station, args.interval)


def run_once(stations: int, args: argparse.Namespace) -> Figures:
    """One fresh pipeline of ``stations`` stations, measured; every process stopped afterwards."""
    packs = max(1, math.ceil(stations / args.per_pack))
    with running_services(keep=args.keep) as services:
        if args.keep:
            print(f"work folder (kept): {services.workdir}")
        stack = Stack(services, stations, args.interval, packs, phase=args.phase)
        try:
            stack.start_sim()
            stack.start_collector()
            stack.start_rules()
            per_poll = [points_per_poll(st) for st in stack.fleet]
            fig = Figures(
                stations=stations,
                devices=sum(len(p) for p in per_poll),
                packs=packs,
                window=Window(0, 0, args.interval),
                values_per_poll=sum(sum(p.values()) for p in per_poll),
            )
            asyncio.run(observe(stack, fig, args))
            fig.polls_demanded = fig.devices * fig.window.ticks
            return fig
        finally:
            stack.stop()


def ramp(args: argparse.Namespace) -> None:
    """Step the station count up until a step is not sustained; print the largest that was."""
    best, failed = 0, False
    for stations in args.steps:
        print(f"\n=== ramp step: {stations} stations, {args.seconds:g} s ===", flush=True)
        fig = run_once(stations, args)
        print_figures(fig)
        if fig.problems:
            failed = True
            break
        best = stations
    note = "" if failed else " (every step passed: the limit is above the last step)"
    print(f"\nlargest station count sustained with zero loss and no backlog: {best or 'none'}{note}")


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`: children and services are stopped


def main() -> None:
    """Parse the arguments and run once or ramp."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=120.0, help="measured window (whole ticks)")
    ap.add_argument("--interval", type=float, default=10.0, help="poll interval of every device, s")
    ap.add_argument("--per-pack", type=int, default=250, help="edge agents per edge-pack process")
    ap.add_argument("--sample", type=int, default=40, help="stations sampled for the store latency")
    ap.add_argument("--drain", type=float, default=60.0, help="longest wait for the drain, s")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    ap.add_argument(
        "--phase",
        choices=["auto", "off"],
        default="auto",
        help="the edges' poll_phase: auto (each station at its own offset into the interval, the default) "
        "or off (every device on the clock grid: one burst per tick)",
    )
    ap.add_argument("--ramp", action="store_true", help="step the station count up (see --steps)")
    ap.add_argument(
        "--steps",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[500, 1000, 1500, 2000, 2500, 3000, 4000, 5000],
        help="ramp: station counts, comma-separated",
    )
    args = smoke.parse(ap, SMOKE)
    signal.signal(signal.SIGTERM, _terminate)
    if args.ramp:
        ramp(args)
    else:
        print(f"poll phase: {args.phase}")
        print_figures(run_once(args.stations, args))


if __name__ == "__main__":
    main()
