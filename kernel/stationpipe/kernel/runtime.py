"""Running a service: logging, signals and the top-level error report shared by every ``stationpipe`` verb."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any

from stationpipe.kernel.errors import StationpipeError, leaves

log = logging.getLogger("stationpipe")
#: Allocations (net, of container objects) between young garbage collections; CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def setup_logging(level: str = "INFO") -> None:
    """One line per event, UTC timestamps, on stderr."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.Formatter.converter = time.gmtime
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("pymodbus").setLevel(logging.ERROR)  # we log device state changes ourselves
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt warns of pending publishes: our window


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a consumer (rules engine, collector), once its
    configuration, registry and state are loaded.

    Why: a consumer allocates several short-lived containers per message (decoded records, rows,
    outcomes, window lists), nearly all freed by reference counting, and keeps a long-lived state (the
    imported modules, schemas, rules, the series and instances of every station). With CPython's default
    young threshold (700) a collection ran every few messages and the older generations were rescanned
    with that state: 5 % of the rules engine's evaluation time in bench/rules_eval.py (timed with
    ``gc.callbacks``), 1.6 % after this; the collector's CPU in bench/collector_ingest.py fell ~5 %. So:

    - ``gc.freeze()`` after one full collection: what is loaded now moves to the permanent generation,
      which collections no longer traverse. Frozen objects are still freed by reference counting; only
      garbage cycles among them would stay, and there are none at this point (just collected);
    - the young threshold is raised to :data:`GC_YOUNG_THRESHOLD`: young collections ~14x rarer, each
      over at most that many objects (a few MB), so memory stays bounded; older thresholds are unchanged.

    The collector stays enabled: cycles created later are still found.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


async def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await main
    finally:
        # The service has stopped; what is left is closing the loop and exiting. A later SIGINT/SIGTERM
        # (a supervisor following up an operator's Ctrl-C) must not kill the process half-way with the
        # default action (exit -15 instead of 0): ignore them from here on.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)


def run_service(name: str, main: Coroutine[Any, Any, None]) -> int:
    """Run a service until SIGINT/SIGTERM (exit 0) or a stationpipe error (exit 1, one clear line each).

    Errors that are not ours are bugs: they propagate with their traceback.
    """
    try:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(_until_signalled(main))
    except (StationpipeError, ExceptionGroup) as exc:
        found = leaves(exc)
        if not all(isinstance(leaf, StationpipeError) for leaf in found):
            raise
        for leaf in found:
            log.critical("%s stopped: %s", name, leaf)
        return 1
    log.info("%s stopped", name)
    return 0
