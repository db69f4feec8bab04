"""Fault soak: the long variants of the fault suite (tests/faults), with more stations.

    .venv/bin/python -m bench.faults_soak --fault influx-down --seconds 60 [--stations 4] [--interval 1]
    .venv/bin/python -m bench.faults_soak --fault all --seconds 300
    .venv/bin/python -m bench.faults_soak --smoke   # influx-down for 1 s, one station: checks it runs

Each fault runs a whole simulated deployment (stations -> edge -> Mosquitto -> collector -> InfluxDB,
and the rules engine -> a webhook receiver for the rules-path faults) with its own Mosquitto and
InfluxDB, keeps the fault up for ``--seconds`` ("a minute", "minutes"; the kills stay short), lets the
pipeline recover and prints the same lines as the tests::

    influx-down: produced 2388, stored 2388, lost 0, duplicated 0

followed by the figures behind them, then ``ok`` or what the check found. Exit 1 if any fault failed its
check. Its ``--smoke`` run is part of the test suite (tests/bench); the short variants of every fault are
the fault tests (tests/faults). Loopback only; every process it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bench import smoke
from tests.faults import drills, drills_disk, drills_edge
from tests.faults.checks import nothing_lost, only_the_oldest_dropped
from tests.faults.harness import Plan
from tests.faults.outcome import Outcome

Drill = Callable[[Plan], Outcome]
#: The cheapest fault to run (InfluxDB killed and started again), one station, a 1 s fault window.
SMOKE = {"fault": "influx-down", "seconds": 1.0, "stations": 1}

#: Fault name -> the drill and the check its outcome must pass.
FAULTS: dict[str, tuple[Drill, Callable[[Outcome], None]]] = {
    "broker-kill": (drills.broker_kill, nothing_lost),
    "broker-kill-shared": (lambda plan: drills.broker_kill(plan, shared=True), nothing_lost),
    "broker-kill-partitioned": (lambda plan: drills.broker_kill(plan, collectors=2), nothing_lost),
    "partition-down": (drills.partition_down, nothing_lost),
    "influx-down": (drills.influx_down, nothing_lost),
    "collector-kill": (drills.collector_kill, nothing_lost),
    "edge-kill": (drills.edge_kill, nothing_lost),
    "rules-kill": (drills.rules_kill, nothing_lost),
    "uplink-cut": (lambda plan: drills_edge.uplink_cut(plan, "blackhole"), nothing_lost),
    "uplink-reject": (lambda plan: drills_edge.uplink_cut(plan, "reject"), nothing_lost),
    "edge-spool-full": (drills_edge.edge_spool_full, only_the_oldest_dropped),
    "collector-disk-full": (drills_disk.collector_disk_full, nothing_lost),
    "collector-spool-bound": (lambda plan: drills_disk.collector_disk_full(plan, 4, "bound"), nothing_lost),
    "clock-skew": (drills_edge.clock_skew, nothing_lost),
    "device-dies": (drills_edge.device_dies, nothing_lost),
    "device-dies-sim-kill": (lambda plan: drills_edge.device_dies(plan, "sim-kill"), nothing_lost),
}


def soak(name: str, plan: Plan) -> bool:
    """Run one fault; print its lines and the verdict; True when its check passed."""
    drill, check = FAULTS[name]
    started = time.monotonic()
    try:
        check(drill(plan))
    except AssertionError as exc:  # SharedSubscriptionsForgottenError is one, with the explanation
        print(f"{name}: FAILED ({time.monotonic() - started:.0f} s): {type(exc).__name__}: {exc}", flush=True)
        return False
    print(f"{name}: ok ({time.monotonic() - started:.0f} s)", flush=True)
    return True


def main() -> None:
    """Parse the arguments and run the chosen faults in turn."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", choices=[*FAULTS, "all"], help="required (--smoke: influx-down)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the fault lasts")
    parser.add_argument("--stations", type=int, default=4, help="simulated water stations")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    args = smoke.parse(parser, SMOKE)
    if args.fault is None:
        parser.error("the following arguments are required: --fault")
    plan = Plan(args.seconds, args.stations, args.interval, settle=max(60.0, args.seconds))
    names = list(FAULTS) if args.fault == "all" else [args.fault]
    failed = [name for name in names if not soak(name, plan)]
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
