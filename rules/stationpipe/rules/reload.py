"""Reload rules on SIGHUP or when the file changes, only after the new file validates.

A bad file keeps the old rules and the log says why (file, key path, reason), once per change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from stationpipe.kernel.config import load
from stationpipe.kernel.errors import ConfigError
from stationpipe.rules.config import RulesConfig

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def try_reload(path: Path, apply: Callable[[RulesConfig], None]) -> bool:
    """Validate ``path`` and apply it; on error log why, keep the old rules, return False."""
    try:
        config = load(path, RulesConfig)
    except ConfigError as exc:
        log.error("rules reload refused, keeping the old rules: %s", exc)  # noqa: TRY400 - no traceback
        return False
    apply(config)
    return True


async def watch(path: Path, every: float, apply: Callable[[RulesConfig], None]) -> None:
    """Forever: reload on SIGHUP, or when ``path`` changed (checked every ``every`` seconds)."""
    hup = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Signal handlers exist only on Unix and in the main thread (an engine embedded in a test runs
    # elsewhere); without one the file-change check below still reloads.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGHUP, hup.set)
    seen = _stamp(path)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await hup.wait()
            now = _stamp(path)
            if hup.is_set() or now != seen:
                hup.clear()
                seen = now
                try_reload(path, apply)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)
