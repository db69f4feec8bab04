"""The pipeline on a 3-node RabbitMQ cluster (MQTT plugin, MQTT 3.1.1), one node killed and restarted
under load: messages produced at the edges against messages stored in InfluxDB.

    .venv/bin/python -m bench.rabbit_cluster [--stations 100] [--interval 1] [--before 20] [--down 20]
                                             [--after 40] [--kill 1]
    .venv/bin/python -m bench.rabbit_cluster --smoke   # 3 stations, a 3 s outage

What runs (real processes, fresh per run, loopback only): three RabbitMQ 3.10 nodes (bench/rabbit_nodes.py:
Debian's ``rabbitmq-server`` as child processes, no root, durable MQTT subscriptions as quorum queues
replicated on all three); InfluxDB 1.x; ``stationpipe sim --fleet N``; the N edge agents (bench/edge_pack.py),
station i publishing on MQTT 3.1.1 to node ``i mod 3``; one ``stationpipe collector`` on node 1 in single
instance mode (``shared = false``: RabbitMQ 3.10 has no ``$share``), a persistent session whose QoS 1
subscription is a quorum queue.

Method. After ``--before`` s of load, node ``--kill`` gets SIGKILL (its whole process group); ``--down``
s later it is started again on the same ports and data, and the run goes on for ``--after`` s. Then the
edge packs stop and the benchmark waits (``--drain`` s at most) until InfluxDB holds every message the
edges no longer hold. A message is known by one point of it: its device's marker parameter (one that no
other device of the station reports) at the reading's own timestamp. Produced = the sum of the edge
spools' ``next_seq``; stored = those points in ``readings`` (InfluxDB keeps one point per series and
timestamp, so a redelivered message counts once); waiting = the messages still in a spool at stop (some
of them may be stored already, their PUBACK not yet seen: at least once); lost = produced - |stored or
waiting|. The last line is
``killed node K for D s: produced P, stored S, waiting W, lost L``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx

from bench import smoke
from bench.e2e_stack import Stack
from bench.rabbit_nodes import Cluster, Node
from stationpipe.collector.lineproto import timestamp_ns
from stationpipe.edge.spool import segment
from stationpipe.edge.spool.view import records, view
from stationpipe.kernel import wire
from stationpipe.kernel.reading import StationMessage
from stationpipe.kernel.registermap import load_profile
from stationpipe.simulators.fleetgen import FleetStation
from stationpipe.testbed.services import Services

Key = tuple[str, str, int]
SMOKE = {"stations": 3, "interval": 1.0, "before": 3.0, "down": 3.0, "after": 8.0, "drain": 30.0}


def collector_toml(stack: Stack, mqtt_port: int) -> str:
    """A single collector (no shared subscription) with a persistent session on ``mqtt_port``."""
    influx = stack.services.influx
    return (
        f'kind = "collector"\nshared = false\nstate_dir = "{stack.work / "collector-state"}"\n'
        f'registry = "{stack.out / "registry.toml"}"\n[mqtt]\nport = {mqtt_port}\n'
        f'client_id = "bench-rabbit-collector"\n[influx]\nurl = "{influx.url}"\n'
        f'database = "{influx.database}"\n[metrics]\nport = {stack.metrics_port}\n'
    )


_MQTT_PORT = re.compile(r'(\[mqtt\]\nhost = "[^"]*"\n)port = \d+')


def spread_edges(stack: Stack, ports: list[int]) -> None:
    """Point station i's edge config at node ``i mod len(ports)``, on MQTT 3.1.1 (the edge's default is
    MQTT 5, which RabbitMQ 3.10 does not speak)."""
    for i, cfg in enumerate(sorted((stack.out / "edge").glob("*.toml"))):
        text = cfg.read_text(encoding="utf-8")
        line = f'port = {ports[i % len(ports)]}\nprotocol = "3.1.1"'
        text = _MQTT_PORT.sub(rf"\g<1>{line}", text, count=1)
        cfg.write_text(text, encoding="utf-8")


def marker_parameters(station: FleetStation) -> list[str]:
    """One parameter per device of ``station`` that no other device of it reports."""
    params = [[p.parameter for p in load_profile(prof).points] for _, prof, _ in station.devices()]
    out = []
    for i, mine in enumerate(params):
        others = {p for j, theirs in enumerate(params) if j != i for p in theirs}
        out.append(next(p for p in mine if p not in others))
    return out


def markers(stack: Stack) -> set[tuple[str, str]]:
    """(station, marker parameter) of every device of the fleet: one point of it per message."""
    return {(st.info.id, p) for st in stack.fleet for p in marker_parameters(st)}


def stored_keys(stack: Stack, wanted: set[tuple[str, str]]) -> set[Key]:
    """(station, marker parameter, timestamp ns) of every stored message."""
    influx = stack.services.influx
    q = 'SELECT "flag" FROM "readings" GROUP BY "station", "parameter"'
    params = {"q": q, "db": influx.database, "epoch": "ns"}
    resp = httpx.post(f"{influx.url}/query", params=params, timeout=60)
    resp.raise_for_status()
    out: set[Key] = set()
    for series in resp.json()["results"][0].get("series", []):
        station, parameter = series["tags"]["station"], series["tags"]["parameter"]
        if (station, parameter) in wanted:
            out.update((station, parameter, int(row[0])) for row in series["values"])
    return out


def waiting_keys(stack: Stack, wanted: set[tuple[str, str]]) -> set[Key]:
    """After the packs stopped: (station, marker parameter, timestamp ns) of each message left in a spool."""
    out: set[Key] = set()
    for st in stack.fleet:
        path = stack.out / "state" / st.info.id / "spool"
        if not path.exists():
            continue
        waiting = set(view(path).waiting)
        for frame in records(segment.paths(path)):
            msg = wire.decode(frame.topic, frame.payload) if frame.seq in waiting else None
            if isinstance(msg, StationMessage):
                out.update(
                    (msg.station, r.parameter, timestamp_ns(r.ts))
                    for r in msg.readings
                    if (msg.station, r.parameter) in wanted
                )
    return out


def queues(cluster: Cluster, via: Node) -> str:
    """The cluster's queues with their type, leader, members and ready messages, as ``via`` lists them."""
    out = cluster.ctl(via, "list_queues", "name", "type", "leader", "members", "messages", "-q")
    return out.strip()


def drain(stack: Stack, limit: float) -> tuple[int, set[Key], set[Key], float]:
    """After the packs stopped: produced, waiting and stored messages, once every message the spools no
    longer hold is stored, or after ``limit`` s."""
    wanted = markers(stack)
    produced, _ = stack.spools()
    waiting = waiting_keys(stack, wanted)
    started = time.monotonic()
    while True:
        stored = stored_keys(stack, wanted)
        if len(stored | waiting) >= produced or time.monotonic() - started > limit:
            return produced, waiting, stored, time.monotonic() - started
        time.sleep(1.0)  # polling InfluxDB, bounded by ``limit``


def run(stack: Stack, cluster: Cluster, args: argparse.Namespace) -> bool:
    """Start the pipeline, kill and restart one node under load, count; True when nothing was lost."""
    nodes = cluster.nodes
    stack.start_sim()
    spread_edges(stack, [n.mqtt for n in nodes])
    cfg = stack.work / "collector.toml"
    cfg.write_text(collector_toml(stack, nodes[0].mqtt), encoding="utf-8")
    stack.spawn("collector", [sys.executable, "-m", "stationpipe", "collector", "--config", str(cfg)])
    logged = partial(lambda text: text in (stack.work / "collector.log").read_text(errors="replace"))
    stack.wait_for("collector", partial(logged, "collector subscribed"), 60, "subscribed")
    stack.start_packs()
    time.sleep(args.before)  # load before the kill
    victim = nodes[args.kill - 1]
    survivor = next(n for n in nodes if n is not victim)
    print(f"queues before the kill:\n{queues(cluster, survivor)}", flush=True)
    victim.kill()
    killed = time.monotonic()
    print(f"killed {victim.name} (SIGKILL to its process group)", flush=True)
    time.sleep(args.down)  # the outage
    print(f"queues at the end of the outage:\n{queues(cluster, survivor)}", flush=True)
    victim.start(cluster.epmd_port, 120)
    cluster.wait_members(len(nodes), 120)
    down = time.monotonic() - killed
    print(f"{victim.name} back in the cluster after {down:.1f} s", flush=True)
    time.sleep(args.after)  # load after the restart
    print(f"queues after the restart:\n{queues(cluster, survivor)}", flush=True)
    crashed = [n for n, p in stack.procs.items() if p.poll() is not None]
    stack.stop([n for n in stack.procs if n.startswith("pack-")])
    produced, waiting, stored, took = drain(stack, args.drain)
    lost = produced - len(stored | waiting)
    if lost:
        print(f"not stored after the {args.drain:g} s drain; queues now:\n{queues(cluster, survivor)}")
    print(f"stations {args.stations}, interval {args.interval:g} s, edges on nodes 1-3, collector on node 1")
    print(f"drain after the edges stopped: {took:.1f} s; crashed during the run: {crashed or 'none'}")
    print(
        f"still in the edge spools at stop: {len(waiting)} ({len(waiting & stored)} of them already stored)"
    )
    print(f"killed node {args.kill} for {down:.0f} s: produced {produced}, stored {len(stored)}, "
          f"waiting {len(waiting - stored)}, lost {lost}", flush=True)  # fmt: skip
    return produced > 0 and lost == 0 and not crashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0, help="edge poll interval, s")
    parser.add_argument("--before", type=float, default=20.0, help="load before the kill, s")
    parser.add_argument("--down", type=float, default=20.0, help="how long the node stays down, s")
    parser.add_argument("--after", type=float, default=40.0, help="load after the restart, s")
    parser.add_argument("--kill", type=int, default=1, choices=(1, 2, 3), help="which node to kill")
    parser.add_argument("--drain", type=float, default=120.0, help="wait for the store at most, s")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs) and print it")
    parser.add_argument("--per-pack", type=int, default=250, help="edge agents per process")
    args = smoke.parse(parser, SMOKE)
    work = Path(tempfile.mkdtemp(prefix="stationpipe-rabbit-"))
    services = Services(work)
    cluster = Cluster(work / "rabbit")
    packs = max(1, -(-args.stations // args.per_pack))
    stack = Stack(services, args.stations, args.interval, packs)
    try:
        services.influx.start()
        started = time.monotonic()
        cluster.start()
        print(f"3-node cluster formed in {time.monotonic() - started:.1f} s", flush=True)
        services.mosquitto.port = cluster.nodes[0].mqtt  # never started: the edges' default broker
        ok = run(stack, cluster, args)
    finally:
        stack.stop()
        cluster.stop()
        services.stop()
        if args.keep:
            print(f"work folder (kept): {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
