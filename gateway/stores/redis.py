"""Glossaries and room settings in Redis, so that every node sees a change at once.

``RedisGlossaryStore``, ``RedisRoomSettingsStore`` and ``RedisIdempotencyStore`` implement the
``GlossaryStore``, ``RoomSettingsStore`` and ``IdempotencyStore`` protocols of ``stores.base``.
Keys (``{p}`` is the key prefix, ``bc`` by default, shared with ``RedisBus``):

- ``{p}:gl:{name}``          hash ``v`` (version), ``fp`` (fingerprint), ``doc`` (the glossary's
                             canonical JSON, ``Glossary.to_json()``)
- ``{p}:gl:names``           set of the glossary names (for listing without SCAN)
- ``{p}:r:{room}:settings``  msgpack ``[glossary, [languages...]]``; absent: the defaults
- ``{p}:r:{room}:idem:{h}``  JSON ``[fingerprint, answer or null]`` of an idempotency key
                             (``h``: its SHA-256), expiring after the key's lifetime

Each node keeps the ``Glossary`` objects it has built, so a comment costs one ``HMGET`` of the
version and fingerprint; the document is fetched and the matcher rebuilt (off the event loop)
only when they change. Reads survive a Redis outage with the last value this node saw (degraded
mode: comments keep their glossary); writes raise ``StoreUnavailable``. Connections come from
the Redis toolkit (``RedisLink``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import msgpack
from redis.exceptions import RedisError

from babelcast.gateway.redis import Health, RedisLink, RedisUnavailable
from babelcast.gateway.stores.base import (
    IDEMPOTENCY_TTL_S,
    IdempotencyRecord,
    RoomSettings,
    StoreUnavailable,
)
from babelcast.glossary import Glossary, parse_glossary

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


_WHEN_DOWN = "reads answer with this node's last copies, writes fail"


class _RedisStore:
    def __init__(self, redis: str | RedisLink, prefix: str) -> None:
        self.link = (RedisLink(redis, health=Health(redis, when_down=_WHEN_DOWN))
                     if isinstance(redis, str) else redis)
        self._redis = self.link.client
        self.url = self.link.url
        self.prefix = prefix
        # Reads answer from this node's copies while Redis is away: logged once per outage.
        self.health = self.link.health

    @property
    def degraded(self) -> bool:
        """Whether the last read failed (reads are answered from this node's copies)."""
        return self.health.degraded

    async def start(self) -> None:
        """Check the connection (raises ``StoreUnavailable`` with the URL when unreachable)."""
        try:
            await self.link.ping()
        except RedisUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def close(self) -> None:
        """Disconnect, if this store's link opened the connection."""
        await self.link.close()

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(f"Redis at {self.url} is unavailable ({exc}); the change was "
                                "not stored, try again")


class RedisGlossaryStore(_RedisStore):
    """Named, versioned glossaries shared by every node (the ``GlossaryStore`` interface).

    ``redis`` is a URL (the store opens and closes its own connection) or a ``RedisLink``
    (closed by the store only if the link owns its client)."""

    def __init__(self, redis: str | RedisLink, *, prefix: str = "bc") -> None:
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
        across nodes). Raises ``GlossaryError``, or ``StoreUnavailable`` when Redis is away."""
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
            self.health.failed(f"reading glossary {name!r}", exc)
            return self._built.get(name)
        self.health.answered()
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
            self.health.failed(f"reading glossary {name!r}", exc)
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
            raise StoreUnavailable(f"Redis at {self.url} is unavailable ({exc})") from exc
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
    never configured have the defaults. ``redis`` is a URL or a ``RedisLink``."""

    def __init__(self, redis: str | RedisLink, *, prefix: str = "bc") -> None:
        super().__init__(redis, prefix)
        self._last: dict[str, RoomSettings] = {}  # served while Redis is away

    def _key(self, room: str) -> str:
        return f"{self.prefix}:r:{room}:settings"

    async def get(self, room: str) -> RoomSettings:
        """The room's settings (one GET)."""
        try:
            raw = await self._redis.get(self._key(room))
        except (RedisError, OSError) as exc:
            self.health.failed(f"reading the settings of room {room!r}", exc)
            return self._last.get(room) or RoomSettings()
        self.health.answered()
        if raw is None:
            self._last.pop(room, None)
            return RoomSettings()
        settings = _unpack_settings(raw)
        self._last[room] = settings
        return settings

    async def put(self, room: str, settings: RoomSettings) -> None:
        """Store the room's settings (the defaults delete the key). Raises
        ``StoreUnavailable`` when Redis is away."""
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


class RedisIdempotencyStore(_RedisStore):
    """Idempotency keys shared by every node (the ``IdempotencyStore`` protocol): a retry
    that reaches another node gets the same answer. Each key expires after ``ttl_s``."""

    def __init__(self, redis: str | RedisLink, *, prefix: str = "bc",
                 ttl_s: float = IDEMPOTENCY_TTL_S) -> None:
        super().__init__(redis, prefix)
        self.ttl_ms = max(1, int(ttl_s * 1000))

    def _key(self, room: str, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return f"{self.prefix}:r:{room}:idem:{digest}"

    async def claim(self, room: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
        """SET NX: one call of all nodes holds the key; the others read what it holds."""
        k = self._key(room, key)
        try:
            for _ in range(3):  # the key may expire between the SET and the GET
                if await self._redis.set(k, json.dumps([fingerprint, None]), nx=True,
                                         px=self.ttl_ms):
                    return None
                raw = await self._redis.get(k)
                if raw is not None:
                    fp, answer = json.loads(raw)
                    return IdempotencyRecord(fp, answer)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"Redis at {self.url} is unavailable ({exc}); nothing was "
                                   "posted, try again") from exc
        raise StoreUnavailable("the idempotency key kept expiring; try again")

    async def settle(self, room: str, key: str, fingerprint: str, answer: str) -> None:
        try:
            await self._redis.set(self._key(room, key), json.dumps([fingerprint, answer]),
                                  px=self.ttl_ms)
        except (RedisError, OSError) as exc:
            raise self._unavailable(exc) from exc

    async def release(self, room: str, key: str) -> None:
        try:
            await self._redis.delete(self._key(room, key))
        except (RedisError, OSError) as exc:
            # The key then expires by itself; until then a retry is told it is in flight.
            self.health.failed(f"freeing an idempotency key of room {room!r}", exc)


__all__ = ["RedisGlossaryStore", "RedisIdempotencyStore", "RedisRoomSettingsStore"]
