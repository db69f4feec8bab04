"""Edge agent throughput: 20 devices x 50 float32 points polled every 0.1 s (10,000 points/s demanded).

Runs, in one go and against the same Modbus servers (a separate process):
  1. the baseline: a bare pymodbus read loop issuing the same requests on the same grid;
  2. ``stationpipe edge`` as its own process, counting the points that reach MQTT.
Prints points/s delivered, Modbus requests/s, the agent's CPU and RSS, and the ratio agent/baseline.
Each figure is the median of ``--rounds`` windows of ``--seconds``.

    .venv/bin/python -m bench.edge_poll [--devices 20] [--points 50] [--interval 0.1] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
from pymodbus.client import AsyncModbusTcpClient

from bench.procstat import usage
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Mosquitto, free_port

PARAMS = list(CATALOGUE)


def _image(points: int) -> list[int]:
    out: list[int] = []
    for i in range(points):
        hi, lo = struct.unpack(">HH", struct.pack(">f", 1.5 + i))
        out += [hi, lo]
    return out


async def _serve(ports: list[int], points: int) -> None:
    async with asyncio.TaskGroup() as tg:
        for port in ports:
            tg.create_task(_one_server(port, points))


async def _one_server(port: int, points: int) -> None:
    async with static_server(port, {1: Image(inputs=_image(points))}):
        await asyncio.Event().wait()


async def _baseline_device(port: int, points: int, interval: float, stop: float, counts: list[int]) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    await client.connect()
    while time.time() < stop:
        await asyncio.sleep(((math.floor(time.time() / interval) + 1) * interval) - time.time())
        resp = await client.read_input_registers(0, count=2 * points, device_id=1)
        regs = resp.registers
        values = [
            client.convert_from_registers(regs[i : i + 2], client.DATATYPE.FLOAT32)
            for i in range(0, len(regs), 2)
        ]
        counts[0] += len(values)
        counts[1] += 1
    client.close()


async def baseline(ports: list[int], points: int, interval: float, seconds: float) -> tuple[float, float]:
    """Points/s and requests/s of a bare pymodbus loop doing the same requests."""
    counts = [0, 0]
    stop = time.time() + seconds
    async with asyncio.TaskGroup() as tg:
        for port in ports:
            tg.create_task(_baseline_device(port, points, interval, stop, counts))
    return counts[0] / seconds, counts[1] / seconds


def _profile(path: Path, points: int) -> Path:
    # one message may not repeat a parameter: use distinct codes and split wider devices across codes
    lines = ['kind = "profile"', 'name = "bench"']
    for i in range(min(points, len(PARAMS))):
        lines += [
            "[[points]]",
            f'parameter = "{PARAMS[i]}"',
            'register = "input"',
            f"address = {2 * i}",
            f'unit = "{CATALOGUE[PARAMS[i]].unit}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _edge_config(work: Path, ports: list[int], mqtt_port: int, points: int, interval: float) -> Path:
    profile = _profile(work / "bench_profile.toml", points)
    text = [
        f'kind = "edge"\nstation = "bench"\nstate_dir = "{work / "state"}"\n',
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "edge-bench"\n[spool]\nwindow = 200\n',
    ]
    for i, port in enumerate(ports):
        text.append(
            f'[[devices]]\nname = "dev{i}"\nprofile = "{profile}"\ninterval = {interval}\ntimeout = 1.0\n'
            f'[devices.transport]\nhost = "127.0.0.1"\nport = {port}\n'
        )
    path = work / "edge.toml"
    path.write_text("\n".join(text))
    return path


async def _count_mqtt(
    port: int, seconds: float, rounds: int, pid: int
) -> tuple[list[float], list[float], float]:
    rates, cpus = [], []
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-probe") as client:
        await client.subscribe("stations/bench/readings", qos=1)
        counter = [0]

        async def consume() -> None:
            async for msg in client.messages:
                counter[0] += len(json.loads(msg.payload)["readings"])

        task = asyncio.create_task(consume())
        await asyncio.sleep(3)  # warm-up: connections, first polls
        for _ in range(rounds):
            start_n, start_t, start_cpu = counter[0], time.monotonic(), usage(pid).cpu_s
            await asyncio.sleep(seconds)
            elapsed = time.monotonic() - start_t
            rates.append((counter[0] - start_n) / elapsed)
            cpus.append(100 * (usage(pid).cpu_s - start_cpu) / elapsed)
        rss = usage(pid).rss_mb
        task.cancel()
    return rates, cpus, rss


def main() -> None:
    """Run both measurements and print the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", nargs="*", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        asyncio.run(_serve(args.serve, args.points))
        return
    points = min(args.points, len(PARAMS))
    if points < args.points:
        print(f"note: a message holds at most {len(PARAMS)} distinct parameters; reading {points} per device")
    demanded = args.devices * points / args.interval
    ports = [free_port() for _ in range(args.devices)]
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        work = Path(tmp)
        broker = Mosquitto("mosquitto", work)
        broker.start()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.edge_poll", "--points", str(points), "--serve", *map(str, ports)]
        )
        try:
            time.sleep(2)  # the servers' start-up; the baseline's connect fails loudly if they are not up
            base = [
                asyncio.run(baseline(ports, points, args.interval, args.seconds)) for _ in range(args.rounds)
            ]
            base_pts = statistics.median(b[0] for b in base)
            base_req = statistics.median(b[1] for b in base)
            cfg = _edge_config(work, ports, broker.port, points, args.interval)
            agent = subprocess.Popen(
                [sys.executable, "-m", "stationpipe", "edge", "--config", str(cfg), "--log-level", "WARNING"]
            )
            try:
                rates, cpus, rss = asyncio.run(_count_mqtt(broker.port, args.seconds, args.rounds, agent.pid))
            finally:
                agent.terminate()
                agent.wait(20)
        finally:
            server.terminate()
            server.wait(10)
            broker.stop()
    agent_pts = statistics.median(rates)
    print(
        f"demanded            {demanded:10.0f} points/s ({args.devices} devices x {points} float32 every "
        f"{args.interval} s)"
    )
    print(
        f"baseline (pymodbus) {base_pts:10.0f} points/s, {base_req:.0f} requests/s (median of {args.rounds})"
    )
    print(f"edge agent -> MQTT  {agent_pts:10.0f} points/s, {agent_pts / points:.0f} requests/s (median)")
    print(f"agent CPU           {statistics.median(cpus):10.0f} % of one core (median), RSS {rss:.0f} MB")
    print(f"delivered/demanded  {agent_pts / demanded:10.1%}")
    print(f"ratio agent/baseline {agent_pts / base_pts:9.2f}")


if __name__ == "__main__":
    main()
