"""A token bucket: the rate limit under ``RateBuckets`` (per-IP connection rates and, in one
process, per-user frame rates). Free of I/O: callers pass the clock."""

from __future__ import annotations


class TokenBucket:
    """A rate limit: ``rate`` tokens per second, at most ``burst`` saved up.
    Time is passed in so the limiter is deterministic under test."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    @property
    def last_used(self) -> float:
        """When ``take`` was last called (or the bucket made)."""
        return self._last

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
