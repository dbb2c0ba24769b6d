"""Who may open a WebSocket, decided before it is accepted: the browser's Origin, and per-IP
connection rate and concurrency. Also ``RateBuckets``, token buckets by key, which the
per-user comment limit uses too. Free of I/O: callers pass the clock."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from babelcast.gateway.limits.bucket import TokenBucket


@dataclass(frozen=True)
class Refusal:
    """A handshake answered with an HTTP error instead of a WebSocket."""

    status: int
    code: str
    message: str


class RateBuckets:
    """A ``TokenBucket`` per key (a user, an IP), ``rate`` per second with bursts of ``burst``.

    A key's bucket is kept while it is refilling and forgotten once it would be full again
    (``burst / rate`` seconds after its last use): a fresh bucket is then the same thing, so
    forgetting loses nothing and memory stays bounded by the keys active in that window."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._refill_s = burst / rate
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()  # oldest use first

    def take(self, key: Hashable, now: float) -> bool:
        """Spend one of ``key``'s tokens if it has one."""
        self._forget_full(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
        else:
            self._buckets.move_to_end(key)
        return bucket.take(now)

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.last_used < self._refill_s:
                return
            self._buckets.popitem(last=False)


def _normal_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


class ConnectionAdmission:
    """Checks a handshake's Origin and its client IP's connection rate and count; counts the
    open connections of each IP. One per gateway process (limits are per node)."""

    def __init__(self, allowed_origins: Iterable[str], max_per_ip: int,
                 rate_per_ip: float, burst_per_ip: int) -> None:
        self.allowed_origins = frozenset(_normal_origin(o) for o in allowed_origins)
        self.max_per_ip = max_per_ip
        self._rates = RateBuckets(rate_per_ip, burst_per_ip) if rate_per_ip > 0 else None
        self._open: dict[str, int] = {}
        self.refused = 0

    def check(self, ip: str, origin: str | None, now: float) -> Refusal | None:
        """Why a handshake from ``ip`` with header ``origin`` is refused, or None. A None
        ``origin`` (no header: not a browser) is allowed; browsers always send one."""
        refusal = self._check(ip, origin, now)
        if refusal is not None:
            self.refused += 1
        return refusal

    def _check(self, ip: str, origin: str | None, now: float) -> Refusal | None:
        if (origin is not None and self.allowed_origins
                and _normal_origin(origin) not in self.allowed_origins):
            return Refusal(403, "origin_not_allowed", f"pages from {origin[:100]!r} may not "
                           "connect to this chat (allowed_origins)")
        if self._rates is not None and not self._rates.take(ip, now):
            return Refusal(429, "too_many_connections", "too many new connections from your "
                           "address; wait a few seconds and reconnect")
        if self.max_per_ip and self._open.get(ip, 0) >= self.max_per_ip:
            return Refusal(429, "too_many_connections", f"your address already has "
                           f"{self.max_per_ip} open connections; close one first")
        return None

    def opened(self, ip: str) -> None:
        """Count a connection from ``ip`` as open (after ``check`` passed)."""
        self._open[ip] = self._open.get(ip, 0) + 1

    def closed(self, ip: str) -> None:
        """The connection counted by ``opened`` ended."""
        left = self._open.get(ip, 0) - 1
        if left > 0:
            self._open[ip] = left
        else:
            self._open.pop(ip, None)
