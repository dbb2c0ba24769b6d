"""Glossaries and room settings in Redis, so that every node sees a change at once.

``RedisGlossaryStore`` and ``RedisRoomSettingsStore`` have the interfaces of the in-memory
``GlossaryStore`` and ``RoomSettingsStore`` (plus ``start``/``close``). Keys (``{p}`` is the key
prefix, ``bc`` by default, shared with ``RedisBus``):

- ``{p}:gl:{name}``          hash ``v`` (version), ``fp`` (fingerprint), ``doc`` (the glossary's
                             canonical JSON, ``Glossary.to_json()``)
- ``{p}:gl:names``           set of the glossary names (for listing without SCAN)
- ``{p}:r:{room}:settings``  msgpack ``[glossary, [languages...]]``; absent: the defaults

Each node keeps the ``Glossary`` objects it has built, so a comment costs one ``HMGET`` of the
version and fingerprint; the document is fetched and the matcher rebuilt (off the event loop)
only when they change. Reads survive a Redis outage with the last value this node saw (degraded
mode: comments keep their glossary); writes raise ``BusUnavailable``.
"""

from __future__ import annotations

import asyncio
import json
import logging

import msgpack
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from babelcast.gateway.bus.base import BusUnavailable
from babelcast.gateway.chat.room_settings import RoomSettings
from babelcast.glossary import Glossary, parse_glossary

log = logging.getLogger("babelcast.redis")

# Replace glossary KEYS[1] by a new document unless its content is unchanged; the version is
# decided here, atomically, so two nodes PUTting at once get distinct versions.
# ARGV: fingerprint, document, requested version, name. Returns {version, created, fp, doc}.
_PUT_GLOSSARY = """
local old = redis.call('HMGET', KEYS[1], 'v', 'fp', 'doc')
local v = tonumber(ARGV[3])
if old[1] then
  if old[2] == ARGV[1] then return {tonumber(old[1]), 0, old[2], old[3]} end
  v = math.max(tonumber(old[1]) + 1, v)
end
redis.call('HSET', KEYS[1], 'v', v, 'fp', ARGV[1], 'doc', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
if old[1] then return {v, 0, ARGV[1], ARGV[2]} end
return {v, 1, ARGV[1], ARGV[2]}
"""


def client_for(redis: str | aioredis.Redis) -> tuple[aioredis.Redis, str, bool]:
    """``(client, URL for messages, owned)`` for a URL (a new client, owned: close it) or a
    shared client (not owned: its creator closes it)."""
    if isinstance(redis, str):
        return aioredis.Redis.from_url(redis), redis, True
    kwargs = redis.connection_pool.connection_kwargs
    url = f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    return redis, url, False


async def ping_or_raise(client: aioredis.Redis, url: str) -> None:
    """Raise ``BusUnavailable`` (with the URL and what to do) when Redis does not answer."""
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        raise BusUnavailable(f"cannot reach Redis at {url}: {exc}; start redis-server or fix "
                             "--redis-url") from exc


class _RedisStore:
    def __init__(self, redis: str | aioredis.Redis, prefix: str) -> None:
        self._redis, self.url, self._owned = client_for(redis)
        self.prefix = prefix

    async def start(self) -> None:
        """Check the connection (raises ``BusUnavailable`` with the URL when unreachable)."""
        await ping_or_raise(self._redis, self.url)

    async def close(self) -> None:
        """Disconnect, if this store opened the connection."""
        if self._owned:
            await self._redis.aclose()

    def _unavailable(self, exc: Exception) -> BusUnavailable:
        return BusUnavailable(f"Redis at {self.url} is unavailable ({exc}); the change was not "
                              "stored, try again")


class RedisGlossaryStore(_RedisStore):
    """Named, versioned glossaries shared by every node (the ``GlossaryStore`` interface).

    ``redis`` is a URL (the store opens and closes its own connection) or a shared client."""

    def __init__(self, redis: str | aioredis.Redis, *, prefix: str = "bc") -> None:
        super().__init__(redis, prefix)
        self._put = self._redis.register_script(_PUT_GLOSSARY)
        # The newest glossary this node has built per name: what `get` serves while the
        # version and fingerprint in Redis match, and while Redis is away.
        self._built: dict[str, Glossary] = {}
        self._building: dict[tuple[str, int, str], asyncio.Future[Glossary]] = {}

    def _key(self, name: str) -> str:
        return f"{self.prefix}:gl:{name}"

    @property
    def _names_key(self) -> str:
        return f"{self.prefix}:gl:names"

    async def put(self, name: str, body: bytes) -> tuple[Glossary, bool]:
        """Validate and store ``body`` as glossary ``name``; returns it and whether it is new.
        Unchanged content keeps its version, changed content gets the next one (atomically
        across nodes). Raises ``GlossaryError``, or ``BusUnavailable`` when Redis is away."""
        # Building the matcher for thousands of terms takes a while: off the event loop.
        new = await asyncio.to_thread(parse_glossary, body, name)
        doc = json.dumps(new.to_json(), ensure_ascii=False, separators=(",", ":"))
        try:
            v, created, fp, stored_doc = await self._put(
                keys=[self._key(name), self._names_key],
                args=[new.fingerprint, doc, new.version, name])
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        v, fp = int(v), fp.decode()
        if v == new.version and fp == new.fingerprint and stored_doc.decode() == doc:
            glossary = new
            self._remember(glossary)
        else:
            glossary = await self._build(name, v, fp, stored_doc)
        return glossary, bool(created)

    async def get(self, name: str) -> Glossary | None:
        """The glossary ``name`` (None if there is none): one small round trip (its version
        and fingerprint); rebuilt only when they changed."""
        try:
            v, fp = await self._redis.hmget(self._key(name), ["v", "fp"])
        except (RedisError, OSError) as exc:
            log.warning("reading glossary %r from Redis failed (%s); using this node's copy",
                        name, exc)
            return self._built.get(name)
        if v is None:
            self._built.pop(name, None)
            return None
        return await self._current(name, int(v), fp.decode())

    def get_built(self, name: str, cache_id: str) -> Glossary | None:
        """The glossary whose ``cache_id`` is ``cache_id`` if this node has built it already
        (no round trip: a cache id names one content and version)."""
        glossary = self._built.get(name)
        return glossary if glossary is not None and glossary.cache_id == cache_id else None

    async def _current(self, name: str, v: int, fp: str) -> Glossary | None:
        built = self._built.get(name)
        if built is not None and built.version == v and built.fingerprint == fp:
            return built
        # Fetch version, fingerprint and document together: a PUT between two reads
        # would otherwise pair one version with another's content.
        try:
            v_raw, fp_raw, doc = await self._redis.hmget(self._key(name), ["v", "fp", "doc"])
        except (RedisError, OSError) as exc:
            log.warning("reading glossary %r from Redis failed (%s); using this node's copy",
                        name, exc)
            return built
        if v_raw is None:
            self._built.pop(name, None)
            return None
        return await self._build(name, int(v_raw), fp_raw.decode(), doc)

    async def _build(self, name: str, v: int, fp: str, doc: bytes) -> Glossary:
        """Rebuild a stored glossary on a thread, once however many comments ask at once."""
        key = (name, v, fp)
        future = self._building.get(key)
        if future is None:
            future = asyncio.ensure_future(asyncio.to_thread(_rebuild, name, v, doc))
            self._building[key] = future
            future.add_done_callback(lambda _f: self._building.pop(key, None))
        glossary = await asyncio.shield(future)
        self._remember(glossary)
        return glossary

    def _remember(self, glossary: Glossary) -> None:
        # Always the latest read: Redis is the truth, and a glossary deleted and created
        # again starts over at version 1.
        self._built[glossary.name] = glossary

    async def names(self) -> list[Glossary]:
        """Every glossary, sorted by name."""
        try:
            names = sorted(n.decode() for n in await self._redis.smembers(self._names_key))
            pipe = self._redis.pipeline(transaction=False)
            for name in names:
                pipe.hmget(self._key(name), ["v", "fp"])
            found = await pipe.execute() if names else []
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"Redis at {self.url} is unavailable ({exc})") from exc
        out = []
        for name, (v, fp) in zip(names, found, strict=True):
            if v is None:  # deleted between the two reads
                continue
            glossary = await self._current(name, int(v), fp.decode())
            if glossary is not None:
                out.append(glossary)
        return out

    async def delete(self, name: str) -> bool:
        """Remove a glossary; rooms that pointed to it translate without one."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._key(name))
        pipe.srem(self._names_key, name)
        try:
            deleted, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc
        self._built.pop(name, None)
        return bool(deleted)


def _rebuild(name: str, version: int, doc: bytes) -> Glossary:
    return Glossary.from_json(json.loads(doc), name=name, version=version)


class RedisRoomSettingsStore(_RedisStore):
    """Per-room settings shared by every node (the ``RoomSettingsStore`` interface); rooms
    never configured have the defaults. ``redis`` is a URL or a shared client."""

    def __init__(self, redis: str | aioredis.Redis, *, prefix: str = "bc") -> None:
        super().__init__(redis, prefix)
        self._last: dict[str, RoomSettings] = {}  # served while Redis is away

    def _key(self, room: str) -> str:
        return f"{self.prefix}:r:{room}:settings"

    async def get(self, room: str) -> RoomSettings:
        """The room's settings (one GET)."""
        try:
            raw = await self._redis.get(self._key(room))
        except (RedisError, OSError) as exc:
            log.warning("reading settings of room %r failed (%s); using this node's copy",
                        room, exc)
            return self._last.get(room) or RoomSettings()
        if raw is None:
            self._last.pop(room, None)
            return RoomSettings()
        settings = _unpack_settings(raw)
        self._last[room] = settings
        return settings

    async def put(self, room: str, settings: RoomSettings) -> None:
        """Store the room's settings (the defaults delete the key). Raises
        ``BusUnavailable`` when Redis is away."""
        try:
            if settings == RoomSettings():
                await self._redis.delete(self._key(room))
                self._last.pop(room, None)
            else:
                await self._redis.set(self._key(room), msgpack.packb(settings.to_list()))
                self._last[room] = settings
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc


def _unpack_settings(raw: bytes) -> RoomSettings:
    return RoomSettings.from_list(msgpack.unpackb(raw))


__all__ = ["RedisGlossaryStore", "RedisRoomSettingsStore", "client_for", "ping_or_raise"]
