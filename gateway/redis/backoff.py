"""``Backoff``: how long to wait before the next attempt at a Redis call that failed.

Doubles from ``first_s`` up to ``max_s``; ``reset`` once a call succeeds. One object per retry
loop (it holds that loop's current delay)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``first_s``, ``2 * first_s``, ... capped at ``max_s``."""

    first_s: float = 0.1
    max_s: float = 1.0
    factor: float = 2.0
    delay_s: float = field(init=False)

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s or self.factor < 1:
            raise ValueError(f"Backoff needs 0 < first_s <= max_s and factor >= 1; got "
                             f"{self.first_s}, {self.max_s}, {self.factor}")
        self.delay_s = self.first_s

    def next(self) -> float:
        """The delay to wait now; the following one grows."""
        delay = self.delay_s
        self.delay_s = min(delay * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        """Start again from ``first_s`` (after a call that succeeded)."""
        self.delay_s = self.first_s

    async def wait(self) -> float:
        """Sleep for ``next()`` seconds; returns how long."""
        delay = self.next()
        await asyncio.sleep(delay)
        return delay
