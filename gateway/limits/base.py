"""The ``RateLimiter`` seam: token buckets by key (a user, an address) that callers spend.

Implementations: ``limits.memory`` (this process's buckets: one node) and ``limits.redis``
(buckets in Redis, shared by every node); the composition root picks one by URL. Callers
type against ``RateLimiter``. A limiter never raises for its backing store: a shared one that
cannot reach it falls back to this node's buckets (``degraded``)."""

from __future__ import annotations

from typing import Protocol

RateKey = tuple[str, ...]


class RateLimiter(Protocol):
    """``rate`` tokens per second per key, with bursts of ``burst``."""

    rate: float
    burst: int

    @property
    def degraded(self) -> bool:
        """Whether the shared store is failing, so buckets are this node's own."""
        ...

    async def take(self, key: RateKey) -> bool:
        """Spend one of ``key``'s tokens if it has one."""
        ...

    async def close(self) -> None:
        """Release connections."""
