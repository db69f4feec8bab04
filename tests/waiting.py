"""Waiting in tests, in one place: poll what sends no event (a database, a file, a counter) until it holds
or a deadline passes, and run a service task until it says it is ready."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest


async def until(
    check: Callable[[], bool],
    what: str,
    within: float = 30.0,
    *,
    detail: Callable[[], str] | None = None,
    period: float = 0.1,
) -> None:
    """Poll ``check`` until true; fail after ``within`` seconds naming ``what`` (and ``detail()``, e.g.
    the processes' logs)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within} s: {what}" + (f"\n{detail()}" if detail else ""))
        await asyncio.sleep(period)  # polling something that sends no event, bounded by the deadline


@contextlib.asynccontextmanager
async def service(
    start: Callable[[asyncio.Event], Coroutine[Any, Any, None]], within: float = 20.0
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``start(ready)`` as a task; enter once it sets ``ready`` (or raise what stopped it); cancel and
    wait for it on exit."""
    ready = asyncio.Event()
    task = asyncio.create_task(start(ready))
    try:
        async with asyncio.timeout(within):
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        if task.done():
            task.result()
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
