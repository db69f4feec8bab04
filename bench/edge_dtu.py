"""One edge agent serving DTUs: 200 simulated 4G DTUs dial in, each bridging an RS-485 bus with 2 Modbus
RTU units x 20 float32 points, every unit polled every 10 s (400 polls per round).

Runs, in one go and against the same simulator (one ``stationpipe sim`` process serving 200 RTU-over-TCP
buses and the 200 DTUs that bridge to them):
  1. the baseline: ``stationpipe edge`` polling the same 400 units over plain Modbus RTU-over-TCP client
     links (``link = {type = "tcp"}``: the agent dials each bus itself, pymodbus' client);
  2. ``stationpipe edge`` with a ``[dtu]`` listener: the DTUs dial in, register and send heartbeats, and
     the agent polls each bus through its DTU's connection.
Each phase is its own agent process. For each window of whole poll rounds: polls delivered to MQTT (a
message per unit per round, by the poll's own timestamp) against those expected, polls flagged B, and
the agent's CPU seconds and RSS. Figures are medians of ``--rounds`` windows of ``--seconds`` after
``--warmup`` s; the ratio is DTU over baseline.

    .venv/bin/python -m bench.edge_dtu [--dtus 200] [--units 2] [--points 20] [--interval 10] [--seconds 60]
    .venv/bin/python -m bench.edge_dtu --smoke   # 3 DTUs polled every 1 s, one 2 s window: does it run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiomqtt

from bench import smoke
from bench.procstat import usage
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.kernel.registry import WaterClass
from stationpipe.simulators.behaviours import AIR, SITE, WATER
from stationpipe.simulators.harness import accepts
from stationpipe.testbed.services import Mosquitto, free_port

#: Parameters the simulator models (water, air, site), each in its catalogue unit.
PARAMS = [p for p in (*WATER[WaterClass.II], *AIR, *SITE) if p in CATALOGUE]
SMOKE = {"dtus": 3, "interval": 1.0, "seconds": 2.0, "rounds": 1, "warmup": 4.0}
STATION = "bench-dtu"


@dataclass(frozen=True)
class Window:
    """One measuring window of one phase."""

    expected: int
    delivered: int
    flagged_b: int
    cpu_s: float
    seconds: float


def _profile(path: Path, points: int) -> Path:
    lines = ['kind = "profile"', 'name = "bench-dtu"']
    for i in range(points):
        code = PARAMS[i]
        unit = CATALOGUE[code].unit
        lines += ["[[points]]", f'parameter = "{code}"', 'register = "input"', f"address = {2 * i}"]
        lines.append(f'unit = "{unit}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def _sim_config(work: Path, profile: Path, buses: list[int], listener: int, units: int) -> Path:
    text = ['kind = "sim"']
    for i, port in enumerate(buses):
        text.extend(
            f'[[devices]]\nname = "bus{i}-u{unit}"\nstation = "{STATION}"\nprofile = "{profile}"\n'
            f'transport = "rtu-tcp"\nport = {port}\nunit = {unit}\nseed = {i * units + unit}'
            for unit in range(1, units + 1)
        )
        text.append(
            f'[[dtus]]\nname = "dtu-{i}"\nport = {listener}\nregistration = "dtu-{i:03d}"\nheartbeat = "HB"\n'
            f"heartbeat_interval = 30.0\ntarget_port = {port}\nredial = 0.5\nredial_cap = 2.0"
        )
    path = work / "sim.toml"
    path.write_text("\n".join(text) + "\n")
    return path


def _edge_config(  # noqa: PLR0917 - one knob per figure of the run
    work: Path, name: str, profile: Path, buses: list[int], args: argparse.Namespace, listener: int | None
) -> Path:
    head = [
        f'kind = "edge"\nstation = "{STATION}"\nstate_dir = "{work / name}"',
        f'[mqtt]\nport = {args.mqtt_port}\nclient_id = "edge-{name}"\n[spool]\nwindow = 200',
    ]
    if listener is not None:
        head.append(f'[dtu]\nhost = "127.0.0.1"\nport = {listener}\nheartbeat = {{ text = "HB" }}')
    for i, port in enumerate(buses):
        if listener is None:
            link = f'{{ type = "tcp", host = "127.0.0.1", port = {port} }}'
        else:
            link = f'{{ type = "dtu", id = "dtu-{i:03d}" }}'
        head.extend(
            f'[[devices]]\nname = "bus{i}-u{unit}"\nprofile = "{profile}"\nprotocol = "modbus_rtu"\n'
            f"link = {link}\nunit = {unit}\ninterval = {args.interval}\ntimeout = 2.0"
            for unit in range(1, args.units + 1)
        )
    path = work / f"{name}.toml"
    path.write_text("\n".join(head) + "\n")
    return path


def _alive(agent: subprocess.Popen[bytes]) -> int:
    if (code := agent.poll()) is not None:
        raise SystemExit(f"the edge agent exited with code {code} before the measurement ended")
    return agent.pid


def _tick(ts: str, interval: float) -> float:
    return math.floor(datetime.fromisoformat(ts).timestamp() / interval) * interval


async def _measure(
    agent: subprocess.Popen[bytes], args: argparse.Namespace, devices: int
) -> tuple[list[Window], float]:
    """The phase's windows and the agent's RSS (MB) at the end."""
    polls: dict[tuple[str, float], bool] = {}  # (device, round) -> flagged B
    async with aiomqtt.Client("127.0.0.1", args.mqtt_port, identifier=f"bench-dtu-{agent.pid}") as client:
        await client.subscribe(f"stations/{STATION}/readings", qos=1)

        async def consume() -> None:
            async for msg in client.messages:
                body = json.loads(msg.payload)
                flags = {v["flag"] for v in body["readings"].values()}
                polls[body["device"], _tick(body["ts"], args.interval)] = flags == {"B"}

        task = asyncio.create_task(consume())
        try:
            windows = await _windows(agent, args, devices, polls)
            rss = usage(_alive(agent)).rss_mb
        finally:
            task.cancel()
    return windows, rss


async def _windows(
    agent: subprocess.Popen[bytes],
    args: argparse.Namespace,
    devices: int,
    polls: dict[tuple[str, float], bool],
) -> list[Window]:
    await asyncio.sleep(args.warmup)  # the agent's start, the DTUs dialling in, the first rounds
    rounds = max(1, round(args.seconds / args.interval))
    out = []
    for _ in range(args.rounds):
        t0 = math.floor(time.time() / args.interval) * args.interval + args.interval
        await asyncio.sleep(t0 - time.time())
        cpu0, m0 = usage(_alive(agent)).cpu_s, time.monotonic()
        t1 = t0 + rounds * args.interval
        await asyncio.sleep(t1 - time.time())
        cpu1, m1 = usage(_alive(agent)).cpu_s, time.monotonic()
        await asyncio.sleep(min(args.interval, 3.0))  # the window's last polls reach the broker
        inside = [b for (_, tick), b in list(polls.items()) if t0 <= tick < t1]
        out.append(Window(devices * rounds, len(inside), sum(inside), cpu1 - cpu0, m1 - m0))
    return out


def _phase(argv: list[str], args: argparse.Namespace, devices: int) -> tuple[list[Window], float]:
    agent = subprocess.Popen([*argv, "--log-level", "WARNING"])
    try:
        return asyncio.run(_measure(agent, args, devices))
    finally:
        smoke.stop(agent, "the edge agent")


async def _buses_up(ports: list[int], sim: subprocess.Popen[bytes], within: float) -> bool:
    """True once the simulator serves every bus; False when it exited first (a port taken meanwhile)."""
    deadline = time.monotonic() + within
    for port in ports:
        while not await accepts("127.0.0.1", port):
            if sim.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise SystemExit(f"the simulator did not serve port {port} within {within:g} s")
            await asyncio.sleep(0.2)  # the simulator's start-up, bounded by the deadline
    return True


def _start_sim(
    work: Path, profile: Path, args: argparse.Namespace
) -> tuple[subprocess.Popen[bytes], list[int], int]:
    """The simulator serving every bus and its DTUs, with the ports it serves; other processes on this
    machine may take a port between our choice and the simulator's bind: then choose again (3 times)."""
    for _ in range(3):
        buses, listener = [free_port() for _ in range(args.dtus)], free_port()
        cfg = _sim_config(work, profile, buses, listener, args.units)
        argv = [sys.executable, "-m", "stationpipe", "sim", "--config", str(cfg), "--log-level", "WARNING"]
        sim = subprocess.Popen(argv)
        if asyncio.run(_buses_up(buses, sim, 60.0)):
            return sim, buses, listener
        print("note: a port the simulator was given was taken meanwhile; choosing others", flush=True)
    raise SystemExit("the simulator could not serve its ports (3 tries)")


def _median(windows: list[Window], of: Callable[[Window], float]) -> float:
    return statistics.median(of(w) for w in windows)


def _line(label: str, windows: list[Window], rss: float, rounds: int) -> str:
    exp, got = _median(windows, lambda w: w.expected), _median(windows, lambda w: w.delivered)
    b, cpu = _median(windows, lambda w: w.flagged_b), _median(windows, lambda w: w.cpu_s)
    share = _median(windows, lambda w: 100 * w.cpu_s / w.seconds)
    return (
        f"{label:<24} polls {got:,.0f} / {exp:,.0f} delivered, {b:,.0f} flagged B, CPU {cpu:.2f} s "
        f"({share:.1f} % of one core), RSS {rss:.0f} MB (median of {rounds})"
    )


def main() -> None:
    """Run both phases and print the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtus", type=int, default=200)
    ap.add_argument("--units", type=int, default=2, help="Modbus units behind each DTU")
    ap.add_argument("--points", type=int, default=20, help="float32 points per unit")
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=60.0, help="one window (whole poll rounds)")
    ap.add_argument("--rounds", type=int, default=3, help="windows per phase")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds before a phase's first window")
    args = smoke.parse(ap, SMOKE)
    points = min(args.points, len(PARAMS))
    devices = args.dtus * args.units
    with tempfile.TemporaryDirectory(prefix="bench-dtu-") as tmp:
        work = Path(tmp)
        profile = _profile(work / "profile.toml", points)
        broker = Mosquitto("mosquitto", work)
        broker.start()
        args.mqtt_port = broker.port
        edge = [sys.executable, "-m", "stationpipe", "edge", "--config"]
        try:
            sim, buses, listener = _start_sim(work, profile, args)
        except BaseException:
            broker.stop()
            raise
        try:
            base_cfg = _edge_config(work, "baseline", profile, buses, args, None)
            base = _phase([*edge, str(base_cfg)], args, devices)
            dtu_cfg = _edge_config(work, "dtu", profile, buses, args, listener)
            dtu = _phase([*edge, str(dtu_cfg)], args, devices)
        finally:
            smoke.stop(sim, "the simulator", 20)
            broker.stop()
    shape = f"{args.dtus} DTUs x {args.units} units x {points} float32"
    rounds = round(args.seconds / args.interval)
    every = f"{devices:,} polls every {args.interval:g} s"
    print(f"demanded                 {every} ({shape}), windows of {rounds} rounds")
    print(_line("baseline (RTU over TCP)", *base, args.rounds))
    print(_line("edge over DTUs", *dtu, args.rounds))
    cpu_ratio = _median(dtu[0], lambda w: w.cpu_s) / max(1e-9, _median(base[0], lambda w: w.cpu_s))
    got_ratio = _median(dtu[0], lambda w: w.delivered) / max(1.0, _median(base[0], lambda w: w.delivered))
    print(
        f"ratio DTU/baseline       CPU {cpu_ratio:.2f}, delivered {got_ratio:.2f}, RSS {dtu[1] / base[1]:.2f}"
    )


if __name__ == "__main__":
    main()
