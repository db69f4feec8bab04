"""Edge agent throughput: 20 devices x 50 float32 points polled every 0.1 s (10,000 points/s demanded).

Runs, in one go and against the same Modbus servers (a separate process):
  1. the baseline: a bare pymodbus read loop issuing the same requests on the same grid;
  2. ``stationpipe edge`` as its own process, counting the points that reach MQTT.
Prints points/s delivered, Modbus requests/s, the agent's CPU and RSS, and the ratio agent/baseline.
Each figure is the median of ``--rounds`` windows of ``--seconds``, after ``--warmup`` s.

    .venv/bin/python -m bench.edge_poll [--devices 20] [--points 50] [--interval 0.1] [--seconds 10]
    .venv/bin/python -m bench.edge_poll --smoke   # 2 devices x 5 points, one 1 s window: checks that it runs

``--values measured`` serves float32s like an analyser's (7.594095, whose shortest decimal needs 7 or 8
digits) instead of 1.5, 2.5, … (exact in binary): the edge's decoding then does its usual work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
from pymodbus.client import AsyncModbusTcpClient

from bench import smoke
from bench.procstat import usage
from stationpipe.kernel.catalogue import CATALOGUE
from stationpipe.testbed.modbus import Image, static_server
from stationpipe.testbed.services import Mosquitto, free_port

PARAMS = list(CATALOGUE)
SMOKE = {"devices": 2, "points": 5, "seconds": 1.0, "rounds": 1, "warmup": 2.0}


def _value(i: int, values: str) -> float:
    return 7.594095 + 1.0137 * i if values == "measured" else 1.5 + i


def _image(points: int, values: str) -> list[int]:
    out: list[int] = []
    for i in range(points):
        hi, lo = struct.unpack(">HH", struct.pack(">f", _value(i, values)))
        out += [hi, lo]
    return out


async def _serve(ports: list[int], points: int, values: str) -> None:
    async with asyncio.TaskGroup() as tg:
        for port in ports:
            tg.create_task(_one_server(port, points, values))


async def _one_server(port: int, points: int, values: str) -> None:
    async with static_server(port, {1: Image(inputs=_image(points, values))}):
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


def _wait_listening(ports: list[int], server: subprocess.Popen[bytes], within: float = 60.0) -> None:
    """Return once every port accepts a connection; ``SystemExit`` if the servers exit or take too long."""
    deadline = time.monotonic() + within
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the Modbus servers did not start listening on {port}") from None
                time.sleep(0.1)


def _profile(path: Path, points: int) -> Path:
    # one message may not repeat a parameter: use distinct codes and split wider devices across codes;
    # each point in its parameter's canonical unit (the edge rejects a unit it cannot convert)
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


def _alive(agent: subprocess.Popen[bytes]) -> int:
    """The agent's pid; ``SystemExit`` if it has exited (its own error is above, on stderr)."""
    if (code := agent.poll()) is not None:
        raise SystemExit(f"the edge agent exited with code {code} before the measurement ended")
    return agent.pid


async def _count_mqtt(
    port: int, seconds: float, rounds: int, agent: subprocess.Popen[bytes], warmup: float
) -> tuple[list[float], list[float], float]:
    rates, cpus = [], []
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-probe") as client:
        await client.subscribe("stations/bench/readings", qos=1)
        counter = [0]

        async def consume() -> None:
            async for msg in client.messages:
                counter[0] += len(json.loads(msg.payload)["readings"])

        task = asyncio.create_task(consume())
        try:
            await asyncio.sleep(warmup)  # connections, first polls
            for _ in range(rounds):
                start_n, start_t, start_cpu = counter[0], time.monotonic(), usage(_alive(agent)).cpu_s
                await asyncio.sleep(seconds)
                elapsed = time.monotonic() - start_t
                rates.append((counter[0] - start_n) / elapsed)
                cpus.append(100 * (usage(_alive(agent)).cpu_s - start_cpu) / elapsed)
            rss = usage(_alive(agent)).rss_mb
        finally:
            task.cancel()  # before the client disconnects: the consumer ends cancelled, not in error
    return rates, cpus, rss


def main() -> None:
    """Run both measurements and print the report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=20)
    ap.add_argument("--points", type=int, default=50)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before the agent's first window")
    ap.add_argument("--values", choices=("exact", "measured"), default="exact", help="the float32s served")
    ap.add_argument("--serve", nargs="*", type=int, help=argparse.SUPPRESS)
    args = smoke.parse(ap, SMOKE)
    if args.serve is not None:
        asyncio.run(_serve(args.serve, args.points, args.values))
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
        serve = ["--points", str(points), "--values", args.values, "--serve", *map(str, ports)]
        server = subprocess.Popen([sys.executable, "-m", "bench.edge_poll", *serve])
        try:
            _wait_listening(ports, server)  # 20 servers take more than 2 s to start on a busy machine
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
                rates, cpus, rss = asyncio.run(
                    _count_mqtt(broker.port, args.seconds, args.rounds, agent, args.warmup)
                )
            finally:
                smoke.stop(agent, "the edge agent")
        finally:
            smoke.stop(server, "the Modbus servers", 10)
            broker.stop()
    agent_pts = statistics.median(rates)
    print(
        f"demanded            {demanded:10.0f} points/s ({args.devices} devices x {points} float32 every "
        f"{args.interval} s)"
    )
    print(f"values served       {args.values}")
    print(
        f"baseline (pymodbus) {base_pts:10.0f} points/s, {base_req:.0f} requests/s (median of {args.rounds})"
    )
    print(f"edge agent -> MQTT  {agent_pts:10.0f} points/s, {agent_pts / points:.0f} requests/s (median)")
    print(f"agent CPU           {statistics.median(cpus):10.0f} % of one core (median), RSS {rss:.0f} MB")
    print(f"delivered/demanded  {agent_pts / demanded:10.1%}")
    print(f"ratio agent/baseline {agent_pts / base_pts:9.2f}")


if __name__ == "__main__":
    main()
