"""The Redis toolkit: what every Redis user of the gateway (the bus, the stores, the rate
limiters, the remote translation client and worker) shares, written once.

- ``client``: ``RedisLink``, one component's connection: made from a URL (owned, closed by
  ``close``) or around a shared client (not owned); ``ping`` raises ``RedisUnavailable`` naming
  the URL and what to do; ``PoolLimits`` for a blocking pool of its own.
- ``health``: ``Health``, whether Redis answers a component: one flag, ``degraded``, failures
  counted, one log line per transition (down, back).
- ``backoff``: ``Backoff``, the delay between retries (doubling up to a ceiling), and
  ``retrying(call, what=, health=, limit_s=, error=)``: an idempotent call retried through an
  outage, raising the caller's error type after ``limit_s``; ``or_last_known(call,
  last_known, what=, health=)``: one attempt, else a local answer at once (none while degraded).
- ``streams``: blocking reads sized under the socket timeout (``blocking_read_ms``), following
  a stream (``tail``), the last entry id (``latest_id``), consumer groups (``ensure_group``,
  ``is_nogroup``), and ``stop_tasks`` for the tasks that read them.

Backends only: the composition root hands a ``RedisLink`` (or a component built on one) to
whoever needs Redis; web, rooms and chat never import this package (an import-linter
contract). ``translation.remote`` cannot import the gateway at all; it declares the part of
``RedisLink`` it uses as a ``typing.Protocol`` and is given a link.
"""

from babelcast.gateway.redis.backoff import Backoff, or_last_known, retrying
from babelcast.gateway.redis.client import PoolLimits, RedisLink, RedisUnavailable, url_of
from babelcast.gateway.redis.health import Health
from babelcast.gateway.redis.streams import (
    blocking_read_ms,
    ensure_group,
    is_nogroup,
    latest_id,
    stop_tasks,
    tail,
)

__all__ = [
    "Backoff", "Health", "PoolLimits", "RedisLink", "RedisUnavailable", "blocking_read_ms",
    "ensure_group", "is_nogroup", "latest_id", "or_last_known", "retrying", "stop_tasks",
    "tail", "url_of",
]
