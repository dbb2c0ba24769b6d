"""Calling Redis through outages: ``Backoff`` (how long to wait before the next attempt),
``retrying`` (run a call until Redis answers or an outage lasts too long) and ``or_last_known``
(one attempt, else a local answer at once).

``Backoff`` doubles from ``first_s`` up to ``max_s``; ``reset`` once a call succeeds. One object
per retry loop (it holds that loop's current delay)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from redis.exceptions import RedisError

from babelcast.gateway.redis.health import Health

T = TypeVar("T")


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


async def retrying(call: Callable[[], Awaitable[T]], *, what: str, health: Health,
                   limit_s: float, backoff: Backoff | None = None,
                   error: Callable[[str], Exception] = RuntimeError) -> T:
    """Run ``call`` until Redis answers, waiting ``backoff`` (default 0.05 s doubling to 1 s)
    between attempts and recording each in ``health``. After ``limit_s`` of failures, raises
    ``error`` (the caller's layer's exception type) with a message naming the URL, how long and
    ``what``. Only for idempotent calls: a retry after a lost reply runs the call again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    backoff = backoff or Backoff(0.05, 1.0)
    while True:
        try:
            result = await call()
        except (RedisError, OSError) as exc:
            health.failed(what, exc)
            delay = backoff.next()
            if loop.time() + delay > deadline:
                raise error(f"Redis at {health.url} unreachable for {limit_s:.0f}s ({what}): "
                            f"{exc}") from exc
            await asyncio.sleep(delay)
            continue
        health.answered()
        return result


async def or_last_known(call: Callable[[], Awaitable[T]], last_known: Callable[[], T], *,
                        what: str, health: Health) -> T:
    """One attempt at ``call``, recorded in ``health``; when it fails, ``last_known()``
    answers at once (for reads that must not hold a caller up during an outage). While
    ``health`` is degraded no attempt is made at all until another call finds Redis back: in
    a network partition each attempt would wait for the connect timeout."""
    if health.degraded:
        return last_known()
    try:
        result = await call()
    except (RedisError, OSError) as exc:
        health.failed(what, exc)
        return last_known()
    health.answered()
    return result
