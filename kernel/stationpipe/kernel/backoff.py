"""Jittered, capped exponential backoff shared by every reconnect and retry loop.

Usage::

    backoff = Backoff()
    while True:
        try:
            await connect()
        except TransientError as exc:
            await asyncio.sleep(backoff.next_delay(exc.retry_after))
            continue
        backoff.reset()
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Full-jitter exponential backoff (AWS architecture blog style), in seconds.

    The n-th delay is uniform in ``[initial * factor**n / 2, min(cap, initial * factor**n)]``: half of
    the span is guaranteed so a flapping peer is not hammered, the other half spreads reconnect storms.
    """

    initial: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, repr=False)
    attempt: int = 0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.cap < self.initial or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= cap and factor >= 1")

    def next_delay(self, retry_after: float | None = None) -> float:
        """Return the next delay and advance; a peer's ``retry_after`` wins when it is longer."""
        ceiling = min(self.cap, self.initial * self.factor**self.attempt)
        self.attempt += 1
        delay = self.rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None and retry_after > delay:
            return min(retry_after, self.cap * 10)
        return delay

    def reset(self) -> None:
        """Forget past failures after a success."""
        self.attempt = 0


def consumer_reconnect() -> Backoff:
    """How the collector and the rules engine retry their broker: quickly, capped at 2 s.

    After a broker restart every second a consumer waits is a second in which the edges' readings reach
    only the consumers already back (docs/broker_restart.md); retrying one local broker every 2 s costs
    nothing. Reset it once subscribed, so the next outage starts from the shortest delay again.
    """
    return Backoff(initial=0.2, cap=2.0)
