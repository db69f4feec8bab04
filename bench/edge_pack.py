"""Many edge agents in one process, for the end-to-end benchmark (``bench/e2e.py``).

One ``stationpipe edge`` process per station costs about 50 MB of RSS (the interpreter, pydantic,
pymodbus, aiomqtt, prometheus-client); 1,000 of them do not fit the benchmark machine. This runs K
stations' agents in one process: ``stationpipe.edge.agent.run(config)`` for each ``kind = "edge"``
file, all in one ``asyncio.TaskGroup``. Every agent is the real code path: its own config, spool
(SQLite), Modbus connection, broker session (client id, LWT, status) and pollers; only the process
boundary differs, so the agents share one interpreter, one event loop and one core. A crash of one
agent stops the pack.

    .venv/bin/python -m bench.edge_pack --list FILE   # FILE: one edge config path per line
    .venv/bin/python -m bench.edge_pack CONFIG...
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from stationpipe.edge.agent import run
from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.config import load
from stationpipe.kernel.runtime import run_service, setup_logging


def load_configs(paths: list[Path]) -> list[EdgeConfig]:
    """Validate every file and its devices' profiles before anything starts (as ``stationpipe edge``)."""
    configs = [load(path, EdgeConfig) for path in paths]
    for cfg in configs:
        for dev in cfg.devices:
            _ = dev.register_map
    return configs


async def run_pack(configs: list[EdgeConfig]) -> None:
    """Run every agent until cancelled (SIGTERM/SIGINT via ``run_service``)."""
    async with asyncio.TaskGroup() as tg:
        for cfg in configs:
            tg.create_task(run(cfg))


def main() -> None:
    """Parse the arguments, load the configs and run the pack."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("configs", nargs="*", type=Path, help="edge config files")
    ap.add_argument("--list", type=Path, help="a file naming one edge config per line")
    ap.add_argument("--log-level", default="WARNING")
    args = ap.parse_args()
    paths: list[Path] = list(args.configs)
    if args.list is not None:
        paths += [Path(line) for line in args.list.read_text().splitlines() if line.strip()]
    if not paths:
        ap.error("no edge configs given")
    configs = load_configs(paths)
    setup_logging(args.log_level)
    raise SystemExit(run_service("edge-pack", run_pack(configs)))


if __name__ == "__main__":
    main()
