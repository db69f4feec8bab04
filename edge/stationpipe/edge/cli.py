"""``stationpipe edge``: the edge agent's verb, mounted by the composition root (``stationpipe.cli``);
also the ``stationpipe-edge`` console script (the same ``app``).

``stationpipe edge --config F`` runs the agent until a signal. ``stationpipe edge --config F --test`` reads
every configured device once (every driver; a GNSS receiver until its first fix), applies the processing
steps, prints each reading with its flag and publishes nothing: one JSON line per reading on stdout
(``station``, ``device``, ``parameter``, ``value``, ``unit``, ``flag``, ``ts``), or a table instead when
stdout is a terminal; the devices that did not answer are named on stderr. No spool, outbox or state file
is created, no broker is contacted, no metrics are served. It is bounded by each device's timeouts and by
``--test-timeout`` in all. Exit codes: 0 every device answered, 1 a device did not answer, 2 a bad
configuration (file, key and reason on stderr), as without ``--test``; 130 when stopped by Ctrl-C.
See :mod:`stationpipe.edge.oneshot`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console

from stationpipe.edge.config import EdgeConfig
from stationpipe.kernel.cli import ConfigOpt, LogOpt, err, load_or_exit, serve
from stationpipe.kernel.runtime import setup_logging

app = typer.Typer()
#: The configuration files this service reads, by their ``kind``.
KINDS = {"edge": EdgeConfig}
#: ``--test``'s exit code when Ctrl-C stops it (128 + SIGINT, as a shell reports it).
INTERRUPTED = 130

TestOpt = Annotated[
    bool,
    typer.Option(
        "--test",
        help="Read every device once, print each reading (JSON lines; a table on a terminal), publish "
        "nothing, touch no spool; exit 1 if a device did not answer.",
    ),
]
TestTimeoutOpt = Annotated[
    float, typer.Option("--test-timeout", min=0.1, help="With --test: seconds for the whole run at most.")
]


@app.command()
def edge(
    config: ConfigOpt,
    log_level: LogOpt = "INFO",
    *,
    test: TestOpt = False,
    test_timeout: TestTimeoutOpt = 30.0,
) -> None:
    """Run the edge agent of one station: poll, flag, publish (--test: read every device once, print)."""
    cfg = load_or_exit(config, "edge", EdgeConfig)
    if test:
        raise typer.Exit(_test(cfg, test_timeout, log_level))
    from stationpipe.edge.agent import run  # noqa: PLC0415 - `check` and `--help` need no pymodbus

    raise serve("edge", run(cfg), log_level)


def _test(cfg: EdgeConfig, cap: float, log_level: str) -> int:
    """``--test``: read every device once, print what each said; the exit code."""
    from stationpipe.edge import oneshot  # noqa: PLC0415 - as above

    setup_logging(log_level)
    try:
        outcomes = asyncio.run(oneshot.read_all(cfg, cap))
    except KeyboardInterrupt:
        return INTERRUPTED
    if sys.stdout.isatty():
        Console(highlight=False).print(oneshot.table(outcomes))
    else:
        for line in oneshot.json_lines(outcomes):
            print(line)
    for failure in oneshot.failures(outcomes):
        err.print(f"[bold red]error:[/] {failure}")
    return oneshot.exit_code(outcomes)
