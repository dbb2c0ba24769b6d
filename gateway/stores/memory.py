"""The stores in this process's memory (one node): ``MemoryGlossaryStore``,
``MemoryRoomSettingsStore`` and ``MemoryIdempotencyStore`` implement the protocols of
``stores.base``."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from babelcast.gateway.stores.base import IDEMPOTENCY_TTL_S, IdempotencyRecord, RoomSettings
from babelcast.glossary import Glossary, next_version, parse_glossary


class MemoryGlossaryStore:
    """Named glossaries with versions (the ``GlossaryStore`` protocol)."""

    def __init__(self, initial: Mapping[str, Glossary] | None = None) -> None:
        self._glossaries: dict[str, Glossary] = dict(initial or {})

    async def start(self) -> None:
        """Nothing to connect to (a shared store connects here)."""

    async def close(self) -> None:
        """Nothing to release."""

    async def put(self, name: str, body: bytes) -> tuple[Glossary, bool]:
        """Validate and store ``body`` as glossary ``name``; returns it and whether it is new.
        Unchanged content keeps its version; changed content gets the next one, so translations
        cached under the old version are never served. Raises ``GlossaryError``."""
        # Building the matcher for thousands of terms takes a while: off the event loop.
        new = await asyncio.to_thread(parse_glossary, body, name)
        old = self._glossaries.get(name)
        stored = next_version(old, new)
        self._glossaries[name] = stored
        return stored, old is None

    async def get(self, name: str) -> Glossary | None:
        return self._glossaries.get(name)

    def get_built(self, name: str, cache_id: str) -> Glossary | None:
        """The glossary ``name`` if its ``cache_id`` is ``cache_id``."""
        glossary = self._glossaries.get(name)
        return glossary if glossary is not None and glossary.cache_id == cache_id else None

    async def names(self) -> list[Glossary]:
        return [self._glossaries[n] for n in sorted(self._glossaries)]

    async def delete(self, name: str) -> bool:
        """Remove a glossary; rooms that pointed to it translate without one."""
        return self._glossaries.pop(name, None) is not None


class MemoryRoomSettingsStore:
    """Settings of every room (the ``RoomSettingsStore`` protocol); rooms never configured
    have the defaults."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomSettings] = {}

    async def start(self) -> None:
        """Nothing to connect to (a shared store connects here)."""

    async def close(self) -> None:
        """Nothing to release."""

    async def get(self, room: str) -> RoomSettings:
        return self._rooms.get(room) or RoomSettings()

    async def put(self, room: str, settings: RoomSettings) -> None:
        if settings == RoomSettings():
            self._rooms.pop(room, None)
        else:
            self._rooms[room] = settings


class MemoryIdempotencyStore:
    """Idempotency keys in this process (the ``IdempotencyStore`` protocol): each kept for
    ``ttl_s``, and at most ``max_keys`` in all (the oldest go first)."""

    def __init__(self, ttl_s: float = IDEMPOTENCY_TTL_S, max_keys: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_keys, self.clock = ttl_s, max_keys, clock
        self._keys: OrderedDict[tuple[str, str], tuple[float, IdempotencyRecord]] = (
            OrderedDict())

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to release."""

    def _expire(self, now: float) -> None:
        while self._keys:
            expires, _ = next(iter(self._keys.values()))
            if expires > now and len(self._keys) <= self.max_keys:
                return
            self._keys.popitem(last=False)

    async def claim(self, room: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
        now = self.clock()
        self._expire(now)
        held = self._keys.get((room, key))
        if held is not None:
            return held[1]
        self._keys[(room, key)] = (now + self.ttl_s, IdempotencyRecord(fingerprint, None))
        return None

    async def settle(self, room: str, key: str, fingerprint: str, answer: str) -> None:
        self._keys.pop((room, key), None)  # re-inserted last: the order stays by expiry
        self._keys[(room, key)] = (self.clock() + self.ttl_s,
                                   IdempotencyRecord(fingerprint, answer))

    async def release(self, room: str, key: str) -> None:
        self._keys.pop((room, key), None)
