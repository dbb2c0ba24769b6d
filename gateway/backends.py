"""Backends chosen by URL, in one place, for the composition root (``node``) only.

An empty URL means this process alone: stores and rate limiters in memory. A ``redis://``,
``rediss://`` or ``unix://`` URL means shared through that Redis, so that every node sees the
same rooms (bus, presence, room state), glossaries, room settings and rate-limit buckets.
Each function returns the seam's protocol type, so callers never see which implementation
they got.
"""

from __future__ import annotations

from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.bus.memory import memory_backend
from babelcast.gateway.bus.redis import redis_backend
from babelcast.gateway.limits.base import RateLimiter
from babelcast.gateway.limits.memory import MemoryRateLimiter
from babelcast.gateway.limits.redis import RedisRateLimiter
from babelcast.gateway.redis import RedisLink
from babelcast.gateway.stores.base import GlossaryStore, IdempotencyStore, RoomSettingsStore
from babelcast.gateway.stores.memory import (
    MemoryGlossaryStore,
    MemoryIdempotencyStore,
    MemoryRoomSettingsStore,
)
from babelcast.gateway.stores.redis import (
    RedisGlossaryStore,
    RedisIdempotencyStore,
    RedisRoomSettingsStore,
)

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def is_redis(url: str) -> bool:
    """Whether ``url`` names a Redis (else empty: memory). Raises ``ValueError`` for any other
    URL, saying which are understood."""
    if not url:
        return False
    if url.startswith(REDIS_SCHEMES):
        return True
    raise ValueError(f"unsupported backend URL {url!r}: use redis://host:port/db, rediss://... "
                     "or unix:///path/to/redis.sock, or none for this process alone")


def room_backend(url: str, *, history_size: int, presence_ttl_s: float) -> RoomBackend:
    """The rooms' bus, presence and state: in this process, or shared through the Redis at
    ``url`` (history of ``history_size`` messages a room; a crashed node's viewers leave
    presence after ``presence_ttl_s``)."""
    if is_redis(url):
        return redis_backend(url, history_size=history_size, presence_ttl_s=presence_ttl_s)
    return memory_backend(history_size)


def glossary_store(url: str) -> GlossaryStore:
    """Glossaries in memory, or in the Redis at ``url``."""
    return RedisGlossaryStore(url) if is_redis(url) else MemoryGlossaryStore()


def room_settings_store(url: str) -> RoomSettingsStore:
    """Room settings in memory, or in the Redis at ``url``."""
    return RedisRoomSettingsStore(url) if is_redis(url) else MemoryRoomSettingsStore()


def idempotency_store(url: str) -> IdempotencyStore:
    """The server API's idempotency keys in memory, or in the Redis at ``url`` (shared by
    every node, so a retry reaching another node gets the same answer)."""
    return RedisIdempotencyStore(url) if is_redis(url) else MemoryIdempotencyStore()


def rate_limiter(url: str, rate: float, burst: int, *, name: str) -> RateLimiter:
    """Buckets of ``rate`` per second (bursts of ``burst``) in memory, or shared through the
    Redis at ``url``; ``name`` separates limiters on one Redis."""
    if is_redis(url):
        return RedisRateLimiter(url, rate, burst, name=name)
    return MemoryRateLimiter(rate, burst)


def redis_link(url: str) -> RedisLink:
    """A connection of its own to the Redis at ``url`` (for the remote translation client and
    worker, which take one). Raises ``ValueError`` when ``url`` is not a Redis URL."""
    if not is_redis(url):
        raise ValueError("remote translation needs a Redis URL (--redis-url)")
    return RedisLink(url)
