"""Central capacity: what the central services alone carry (broker -> collector -> InfluxDB, and the
rules engine with the full example rule set), fed by a cheap station emulator instead of simulators and
edge agents.

    .venv/bin/python -m bench.central --stations 20000 --interval 60 [--seconds 180] [--no-phase]
    .venv/bin/python -m bench.central --ramp --interval 10 [--steps 2000,4000,...] [--budget 1500]
    .venv/bin/python -m bench.central --smoke [--ramp]   # 30 stations every 2 s (ramp: 20, 40)

What runs (real processes, fresh per run): Mosquitto and InfluxDB 1.x (``stationpipe.testbed.services``);
one ``stationpipe collector`` (production batch settings) and one ``stationpipe rules`` with every rule of
``deploy/config/rules.example.toml`` (delivery by MQTT only), both configured by ``bench/e2e_stack.py`` as
the end-to-end benchmark configures them, on the registry of ``stationpipe sim --fleet N``; and
``bench/central_emulator.py``: the fleet's readings messages (real wire format, per-device seq, the
fleet's device mix, 10 parameters per station) prepared before the clock starts and published on the
clock grid, by default with per-station phase offsets (``--no-phase``: every station on the tick), over
one MQTT connection at QoS 1: prepared packets on a socket (``--client raw``, the default: the kernel's
paho client costs ~75 us a message more and was the bound of a burst), or ``--client kernel``.

Method. The emulator publishes one warm-up tick, then the window ``[t0, t1)`` of whole ticks; figures
count readings whose own instant lies in the window. After the last tick the benchmark waits
(``--drain`` s at most) until InfluxDB holds every reading of the window.

* Loss: readings the emulator produced in the window minus ``count(flag)`` of ``readings`` in InfluxDB in
  the window after the drain; and every message must have its PUBACK.
* Read -> stored: a sample of ``--sample`` stations is queried in InfluxDB every 0.2 s
  (``bench/e2e_probe.StoreSampler``, as ``bench.e2e``): a point's store instant is the middle of the
  interval in which it became visible; minus the reading's own instant (its scheduled instant: the
  emulator's lateness in handing it to the client is inside the figure, and printed apart).
* Read -> warning: every ``--hot-every``-th water station alternates CODMn above the class V limit and
  clean, so the section rule fires and resolves there every tick; a subscriber on ``warnings/#`` takes
  arrival minus the warning's ``ts`` (the instant of the reading that changed it), window only.
* CPU: (user + system) seconds over the window from /proc (``bench/procstat.py``; psutil is not in the
  venv), as % of one core; RSS: the largest sample (every 2 s). The emulator and this process are
  printed apart from the central services.
* Sustained: zero loss, every message acknowledged, p99 read -> stored below ``--p99`` s (default 2) and
  below the interval, every sampled reading seen stored, no process exited.

A run is preceded by a baseline at ``--baseline`` stations (default a tenth) with the same interval, in
the same invocation, and their ratio is printed (``--baseline 0``: none). ``--ramp`` steps the station
count up (``--steps``) until a step is not sustained, bounded by ``--budget`` seconds; it prints the
largest sustained. The last line is always
``stations N interval Ts: sustained|not sustained; lost L; p99 read->stored X ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from bench import smoke
from bench.central_report import Run, print_ratio, print_run, verdict
from bench.e2e import _collector_metrics, _watch
from bench.e2e_probe import StoreSampler, influx_count, stop_task
from bench.e2e_report import Window
from bench.e2e_stack import Stack, points_per_poll
from stationpipe.kernel import wire
from stationpipe.kernel.messages import WarningEvent
from stationpipe.kernel.mqtt import MqttSettings, make_client
from stationpipe.simulators.fleetfiles import registry_toml
from stationpipe.simulators.fleetgen import plan
from stationpipe.testbed.services import running_services

SMOKE = {"stations": 30, "interval": 2.0, "seconds": 4.0, "sample": 5, "drain": 20.0, "steps": [20, 40],
         "baseline": 10, "hot_every": 5}  # fmt: skip


class Warnings:
    """Arrival minus ``ts`` of every warning on ``warnings/#`` whose ``ts`` lies in the window."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[tuple[float, float]] = []  # (arrived, ts)
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Subscribe and record until cancelled."""
        settings = MqttSettings(port=self.port, client_id=f"bench-central-warnings-{os.getpid()}")
        async with make_client(settings, max_queued_incoming_messages=0) as client:
            await client.subscribe("warnings/+/+", qos=1)
            self.ready.set()
            async for message in client.messages:
                arrived = time.time()
                payload = message.payload if isinstance(message.payload, bytes) else b""
                msg = wire.decode(message.topic.value, payload)
                if isinstance(msg, WarningEvent):
                    self.seen.append((arrived, msg.ts.timestamp()))

    def latencies(self, t0: float, t1: float) -> list[float]:
        """Latencies of the warnings of the window."""
        return [arrived - ts for arrived, ts in self.seen if t0 <= ts < t1]


def start_emulator(stack: Stack, run: Run, args: argparse.Namespace, first_tick: float, ticks: int) -> None:
    """Spawn the emulator and wait until it is connected and prepared."""
    argv = [sys.executable, "-m", "bench.central_emulator", "--port", str(stack.services.mosquitto.port),
            "--stations", str(run.stations), "--interval", str(run.interval), "--first-tick", str(first_tick),
            "--ticks", str(ticks), "--result", str(stack.work / "emulator.json"),
            "--hot-every", str(args.hot_every), "--client", args.client,
            *(["--phase"] if run.phase else [])]  # fmt: skip
    stack.spawn("emulator", argv)
    log = stack.work / "emulator.log"
    stack.wait_for("emulator", lambda: "emulator ready" in log.read_text(errors="replace"),
                   60 + run.stations / 500, "ready")  # fmt: skip


async def drain(stack: Stack, run: Run, limit: float) -> None:
    """Wait for the emulator's result, then until InfluxDB holds every reading of the window."""
    result = stack.work / "emulator.json"
    with contextlib.suppress(subprocess.TimeoutExpired):  # it waits up to 60 s for its acknowledgements
        await asyncio.to_thread(stack.procs["emulator"].wait, limit + 70)
    if result.exists():
        run.emulator = json.loads(result.read_text())
    stopped = time.time()
    deadline = time.monotonic() + limit
    url, db = stack.services.influx.url, stack.services.influx.database
    while True:
        run.stored = await influx_count(url, db, run.t0, run.t1)
        if run.stored >= run.produced and run.produced:
            run.drain_s = max(0.0, time.time() - stopped)
            return
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)  # polling InfluxDB, bounded by the deadline


async def measure(stack: Stack, run: Run, args: argparse.Namespace) -> None:
    """Start the emulator and the probes; measure the window; wait for the drain."""
    ids = [st.info.id for st in stack.fleet]
    sample = ids[:: max(1, len(ids) // args.sample)]
    sampler = StoreSampler(stack.services.influx.url, stack.services.influx.database, sample)
    warnings = Warnings(stack.services.mosquitto.port)
    tasks = [asyncio.create_task(warnings.run())]
    try:
        async with asyncio.timeout(30):
            await warnings.ready.wait()
        ticks = 1 + max(1, math.ceil(args.seconds / run.interval))
        prepare = 3 + run.stations / 800  # the emulator's start-up: plan, templates, connect
        first_tick = math.ceil((time.time() + prepare) / run.interval) * run.interval
        await asyncio.to_thread(start_emulator, stack, run, args, first_tick, ticks)
        run.t0, run.t1 = first_tick + run.interval, first_tick + ticks * run.interval
        tasks.append(asyncio.create_task(sampler.run()))
        run.processes = await _watch(stack, Window(run.t0, run.t1, run.interval))
        run.load = os.getloadavg()
        run.crashed = [n for n, p in stack.procs.items() if p.poll() not in (None, 0)]
        await drain(stack, run, args.drain)
        await asyncio.sleep(min(2.0, run.interval))  # the sampler's last queries
        run.collector = _collector_metrics(stack.metrics_port)
    finally:
        for task in tasks:
            await stop_task(task)
    window = Window(run.t0, run.t1, run.interval)
    for (_, _, ts_ns), bounds in sampler.stored.items():
        if window.holds(ts_ns / 1e9):
            run.store_latency.append((bounds[0] + bounds[1]) / 2 - ts_ns / 1e9)
            run.store_resolution.append(bounds[1] - bounds[0])
    expected = 10 * len(sample) * window.ticks
    run.sample_unstored = max(0, expected - len(run.store_latency)) if not run.lost else 0
    run.warn_latency = warnings.latencies(run.t0, run.t1)
    run.warnings_seen = len(warnings.seen)


def run_once(stations: int, args: argparse.Namespace) -> Run:
    """One fresh centre for ``stations`` stations, measured; every process stopped afterwards."""
    with running_services(keep=args.keep) as services:
        if args.keep:
            print(f"work folder (kept): {services.workdir}")
        stack = Stack(services, stations, args.interval, 0)
        stack.fleet = plan(stations, 1, 0)
        stack.out.mkdir(parents=True, exist_ok=True)
        (stack.out / "registry.toml").write_text(registry_toml(stack.fleet), encoding="utf-8")
        devices = sum(len(points_per_poll(st)) for st in stack.fleet)
        run = Run(stations, devices, args.interval, args.phase, p99_limit=args.p99)
        try:
            stack.start_collector()
            stack.start_rules()
            asyncio.run(measure(stack, run, args))
            return run
        finally:
            stack.stop()


def ramp(args: argparse.Namespace) -> Run | None:
    """Step the station count up until a step is not sustained (or the budget is spent)."""
    best: Run | None = None
    last: Run | None = None
    started = time.monotonic()
    for stations in args.steps:
        if time.monotonic() - started > args.budget:
            print(f"\nramp budget of {args.budget:g} s spent before the {stations}-station step")
            break
        print(f"\n=== ramp step: {stations} stations every {args.interval:g} s ===", flush=True)
        last = run_once(stations, args)
        print_run(last)
        print(verdict(last), flush=True)
        if last.problems:
            break
        best = last
    size = f"{best.stations}" if best else "none"
    print(f"\nlargest station count sustained at {args.interval:g} s: {size}")
    if best is not None and last is not None and last is not best:
        print_ratio(best, last)
    return best or last


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through every `finally`: children and services are stopped


def main() -> None:
    """Parse the arguments; run (after the baseline) or ramp; the verdict line last."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=20_000)
    ap.add_argument("--interval", type=float, default=60.0, help="publication interval of every device, s")
    ap.add_argument("--seconds", type=float, default=180.0, help="measured window (whole ticks)")
    ap.add_argument("--no-phase", dest="phase", action="store_false", help="every station on the tick")
    ap.add_argument("--baseline", type=int, default=-1, help="baseline stations (default a tenth; 0: none)")
    ap.add_argument("--sample", type=int, default=40, help="stations sampled for read -> stored")
    ap.add_argument("--hot-every", type=int, default=50, help="every M-th water station raises warnings")
    ap.add_argument(
        "--client",
        choices=("raw", "kernel"),
        default="raw",
        help="emulator: prepared MQTT packets on one socket, or the kernel's MQTT client (paho)",
    )
    ap.add_argument("--p99", type=float, default=2.0, help="sustained: p99 read -> stored below this, s")
    ap.add_argument("--drain", type=float, default=60.0, help="longest wait for the drain, s")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    ap.add_argument("--ramp", action="store_true", help="step the station count up (see --steps)")
    ap.add_argument(
        "--steps",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2000, 4000, 6000, 8000, 10000, 12000, 15000, 20000],
        help="ramp: station counts, comma-separated",
    )
    ap.add_argument("--budget", type=float, default=1800.0, help="ramp: no new step after this many s")
    args = smoke.parse(ap, SMOKE)
    signal.signal(signal.SIGTERM, _terminate)
    if args.ramp:
        final = ramp(args)
    else:
        base_n = args.stations // 10 if args.baseline < 0 else args.baseline
        base = None
        if base_n > 0:
            print(f"=== baseline: {base_n} stations every {args.interval:g} s ===", flush=True)
            base = run_once(base_n, args)
            print_run(base)
            print(verdict(base), flush=True)
        print(f"\n=== {args.stations} stations every {args.interval:g} s ===", flush=True)
        final = run_once(args.stations, args)
        print_run(final)
        if base is not None:
            print_ratio(base, final)
    if final is not None:
        print(verdict(final))


if __name__ == "__main__":
    main()
