"""``MemoryRateLimiter``: the ``RateLimiter`` seam with buckets in this process (one node)."""

from __future__ import annotations

import time

from babelcast.gateway.limits.admission import RateBuckets
from babelcast.gateway.limits.base import RateKey


class MemoryRateLimiter:
    """Buckets in this process (``RateBuckets`` on the monotonic clock)."""

    degraded = False  # nothing shared to lose

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets = RateBuckets(rate, burst)

    async def take(self, key: RateKey) -> bool:
        """Spend one of ``key``'s tokens if it has one."""
        return self._buckets.take(key, time.monotonic())

    async def close(self) -> None:
        """Nothing to release."""
