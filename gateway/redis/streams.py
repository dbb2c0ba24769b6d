"""Reading Redis Streams: blocking reads, following a stream, consumer groups, stopping the
tasks that read.

- ``blocking_read_ms(client, wanted_s)``: a ``BLOCK`` that stays under the client's socket
  timeout.
- ``tail(client, key, last, ...)``: every entry added after ``last``, forever, riding out
  outages with a ``Backoff``.
- ``latest_id(client, key)``: where to start reading so that every later entry is read and
  none before.
- ``ensure_group(client, stream, group)`` / ``is_nogroup(exc)``: make a consumer group if
  missing; recognise the error of a group that Redis lost.
- ``stop_tasks(tasks)``: cancel reader tasks and wait until they have really ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from babelcast.gateway.redis.backoff import Backoff
from babelcast.gateway.redis.health import Health

log = logging.getLogger("babelcast.redis")


def blocking_read_ms(client: aioredis.Redis, wanted_s: float) -> int:
    """How long a blocking read may wait: under the client's socket timeout (redis-py 8
    defaults to 5 s), else every idle wait ends in a socket timeout and a reconnect."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    if timeout:
        wanted_s = min(wanted_s, timeout / 2)
    return max(1, int(wanted_s * 1000))


async def latest_id(client: aioredis.Redis, key: str) -> bytes:
    """The id of the newest entry of stream ``key`` (``0-0`` when empty): reading after it
    gets every later entry and none before."""
    last = await client.xrevrange(key, count=1)
    return last[0][0] if last else b"0-0"


async def tail(client: aioredis.Redis, key: str, last: bytes, *, block_ms: int,
               count: int = 500, backoff: Backoff | None = None, health: Health | None = None,
               running: Callable[[], bool] = lambda: True,
               resume: Callable[[], Awaitable[object]] | None = None,
               ) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
    """Yield ``(entry id, fields)`` of every entry added to stream ``key`` after ``last``, in
    order, until ``running()`` is false (or the task is cancelled). A failed read is logged
    and retried after ``backoff`` (default: 0.1 s doubling to 1 s); with ``health``, reads
    count as its calls. ``resume`` runs after a failure, before the next read (Redis may have
    come back without its data); until it succeeds it is retried like a read."""
    backoff = backoff or Backoff(0.1, 1.0)
    failed = False
    while running():
        try:
            if failed and resume is not None:
                await resume()
            failed = False
            batches = await client.xread({key: last}, block=block_ms, count=count)
        except (RedisError, OSError) as exc:
            failed = True
            if not running():
                return
            if health is not None:
                health.failed(f"reading {key}", exc)
            delay = backoff.next()
            log.warning("reading %s failed (%s); retrying in %.1fs", key, exc, delay)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        if health is not None:
            health.answered()
        for _key, entries in batches or []:
            for entry_id, fields in entries:
                last = entry_id
                yield entry_id, fields


async def ensure_group(client: aioredis.Redis, stream: str, group: str) -> None:
    """Create consumer group ``group`` of ``stream`` (and the stream) if missing. From id 0,
    so that entries added before the group existed (or after Redis lost it) are still read."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def is_nogroup(exc: BaseException) -> bool:
    """Whether ``exc`` says the consumer group (or its stream) is gone: Redis restarted
    without persistence. ``ensure_group`` makes it again."""
    return isinstance(exc, ResponseError) and "NOGROUP" in str(exc)


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they end. Cancelling again until they do: on Python
    3.11, ``asyncio.wait_for`` (inside redis-py's send) can swallow a cancellation that
    arrives as the command is sent."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.1)
