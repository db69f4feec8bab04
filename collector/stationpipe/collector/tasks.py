"""Task helpers shared by the collector's service loops."""

from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """Re-raise a cancellation that a library swallowed; call it at the top of every service loop.

    Python 3.11's ``asyncio.wait_for`` (used by aiomqtt's publish) can lose a cancellation that lands
    as the awaited operation completes; a loop that went on would keep the service from ever stopping.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
