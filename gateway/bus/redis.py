"""The Redis backend: ``RedisBus``, ``RedisPresence`` and ``RedisRoomState``, so that several
gateway nodes share rooms. The three share one ``BusLink``: a connection pool and its health
(``degraded``) from the Redis toolkit (``babelcast.gateway.redis``), retries through an
outage, and the key scheme below.

Keys (``{p}`` is the key prefix, ``{r}`` the room):

- ``{p}:epoch``            the id sequence's name (set once; lost with Redis' data, like ids)
- ``{p}:r:{r}:seq``        INCR counter of message ids
- ``{p}:r:{r}:msgs``       hash id -> msgpack message (history), capped at ``history_size``
- ``{p}:r:{r}:ids``        sorted set of the ids in history (score = id)
- ``{p}:r:{r}:tr:{id}``    hash lang -> msgpack translation (set once; an untranslated one
                         may be replaced once by a translated one: a retry)
- ``{p}:r:{r}:trimmed``    the newest id trimmed from a full history (resume gaps)
- ``{p}:r:{r}:pin``        the pinned message id (absent: nothing pinned)
- ``{p}:r:{r}:muted``      set of muted user ids
- ``{p}:r:{r}:ev``         stream of room events, capped (``MAXLEN ~``); also carries each
                         node's reaction counts per interval (kind ``r``, never in history)
- ``{p}:r:{r}:nodes``      set of node ids with viewers in the room
- ``{p}:r:{r}:p:{node}``   hash lang -> viewers on that node, expiring unless refreshed

Publishing is one Lua script per event, so id assignment, history and the event stream
change together and every node reads one order from the stream.

Degraded mode: when a comment cannot be published because Redis is unreachable, it is held in
this node's outbox (``bus.outbox``) and published when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import msgpack
from redis.exceptions import RedisError

from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.bus.base import (
    Bus,
    BusUnavailable,
    CommentDraft,
    RoomStats,
    Subscription,
    UnknownMessage,
    message_from_draft,
    resume_after,
)
from babelcast.gateway.bus.outbox import Held, Outbox
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.bus.state import RoomState, Vote, VoteOutcome
from babelcast.gateway.events import (
    ChatMessage,
    CommentPublished,
    EpochChanged,
    MessageDeleted,
    PinChanged,
    ReactionsCounted,
    RoomEvent,
    TranslationPublished,
)
from babelcast.gateway.redis import (
    PoolLimits,
    RedisLink,
    RedisUnavailable,
    latest_id,
    or_last_known,
    retrying,
    stop_tasks,
)
from babelcast.translation import Translation

log = logging.getLogger("babelcast.redis")
T = TypeVar("T")

# Every script that writes under an epoch first checks that the epoch key still holds it and
# answers EPOCH_LOST (-1) when not: Redis lost its data (or another node started a new epoch
# since), so the ids this node knows may name other messages now.
EPOCH_LOST = -1

_PUBLISH_COMMENT = """
if redis.call('GET', KEYS[7]) ~= ARGV[5] then return -1 end
local prev = redis.call('GET', KEYS[5])
if prev then return tonumber(prev) end
local id = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[5], id, 'EX', 600)
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('ZADD', KEYS[3], id, id)
local keep = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[3])
if n > keep then
  local old = redis.call('ZPOPMIN', KEYS[3], n - keep)
  for i = 1, #old, 2 do
    redis.call('HDEL', KEYS[2], old[i])
    redis.call('DEL', ARGV[4] .. old[i])
  end
  redis.call('SET', KEYS[6], old[#old - 1])
end
local i = 6
while i < #ARGV do
  redis.call('HSET', ARGV[4] .. id, ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'k', 'c', 'id', id, 'm', ARGV[1],
           'n', (#ARGV - 5) / 2, 'e', ARGV[5])
return id
"""

_PUBLISH_TRANSLATION = """
if redis.call('GET', KEYS[4]) ~= ARGV[5] then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
local prev = redis.call('HGET', KEYS[1], ARGV[2])
if prev and (ARGV[6] ~= '1' or cmsgpack.unpack(prev)[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'k', 't', 'id', ARGV[1],
           'l', ARGV[2], 't', ARGV[3], 'e', ARGV[5])
return 1
"""

# The epoch a node adopts. KEYS[1] the epoch, KEYS[2] the run of Redis it began under (its
# INFO run_id); ARGV[1] this run, ARGV[2] a fresh epoch, ARGV[3] '1' when this Redis loses
# no acknowledged write (AOF with appendfsync always). A run that differs means Redis
# restarted since: from an RDB snapshot or an AOF everysec log it may lack its last writes, so
# ids written after them would be issued again under the old name; a new epoch starts. Of the
# nodes that notice, the first one's epoch wins (the script runs alone).
_ADOPT_EPOCH = """
local run = redis.call('GET', KEYS[2])
if run and run ~= ARGV[1] and ARGV[3] ~= '1' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('GET', KEYS[1])
"""

_DELETE_MESSAGE = """
if ARGV[4] ~= '' and redis.call('GET', KEYS[6]) ~= ARGV[4] then return -1 end
local prev = redis.call('GET', KEYS[5])
if prev then return tonumber(prev) end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[5], 1, 'EX', 600)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', ARGV[3] .. ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'k', 'd', 'id', ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[1] then
  redis.call('DEL', KEYS[4])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'k', 'p', 'id', '')
end
return 1
"""

_SET_PINNED = """
if ARGV[1] == '' then
  redis.call('DEL', KEYS[2])
else
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
  redis.call('SET', KEYS[2], ARGV[1])
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'k', 'p', 'id', ARGV[1])
return 1
"""


def _pack_message(draft: CommentDraft, ts: float, replaces: int = 0) -> bytes:
    fields = [draft.user, draft.user_id, draft.text, draft.src_lang, ts,
              list(draft.glossary_hits), draft.question]
    if replaces or draft.owed or draft.origin:  # optional trailing fields (degraded mode,
        fields += [replaces, list(draft.owed)]  # owed translations, the server API's sender)
    if draft.origin:
        fields.append(draft.origin)
    return msgpack.packb(fields)


def _unpack_message(room: str, mid: int, data: bytes) -> ChatMessage:
    user, user_id, text, src_lang, ts, hits, *rest = msgpack.unpackb(data)
    # Messages stored before the question flag existed have six fields; replaces and owed
    # are there only when set, and origin only after them.
    replaces, owed = (rest[1], tuple(rest[2])) if len(rest) > 2 else (0, ())
    return ChatMessage(id=mid, room=room, user=user, user_id=user_id, text=text,
                       src_lang=src_lang, ts=ts, glossary_hits=tuple(hits),
                       question=bool(rest[0]) if rest else False,
                       replaces=replaces, owed=owed, origin=rest[3] if len(rest) > 3 else "")


def _pack_translation(t: Translation) -> bytes:
    return msgpack.packb([t.lang, t.text, t.translated, t.reason, t.engine])


def _unpack_translation(data: bytes) -> Translation:
    lang, text, translated, reason, engine = msgpack.unpackb(data)
    return Translation(lang, text, translated, reason, engine)


# One pool for the bus, presence and room state. Blocking: a burst of joins waits for a free
# connection instead of failing with "Too many connections" (redis-py's default pool raises at
# 100); the connect timeout bounds what an unreachable (not refusing) Redis costs a call.
BUS_POOL = PoolLimits(200, wait_s=10, connect_timeout_s=2.0)


class BusLink:
    """What the bus, presence and room state share: one toolkit ``RedisLink`` (connection
    pool and ``Health``: ``degraded`` while calls fail), the bus's key scheme, and how long an
    operation keeps retrying through an outage (``outage_limit_s``) before it raises
    ``BusUnavailable``."""

    def __init__(self, url: str, *, prefix: str = "bc", outage_limit_s: float = 30.0) -> None:
        self.redis = RedisLink(url, pool=BUS_POOL)
        self.client = self.redis.client
        self.health = self.redis.health
        self.url = url
        self.prefix = prefix
        self.outage_limit_s = outage_limit_s

    def key(self, room: str, *parts: str) -> str:
        """The key of one of a room's values."""
        return ":".join((self.prefix, "r", room, *parts))

    async def or_last_known(self, what: str, call: Callable[[], Awaitable[T]],
                            last_known: Callable[[], T]) -> T:
        """One attempt; while Redis is unreachable, ``last_known()`` answers at once (reads
        on the comment path must not hold local viewers' chat up; none is tried until another
        call, the presence heartbeat or a publish, finds Redis back)."""
        return await or_last_known(call, last_known, what=what, health=self.health)

    async def retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call`` until Redis answers, with backoff: during a brief outage an event is
        delayed, never lost (publishing is idempotent, so a retry after a lost reply does not
        publish twice). After ``outage_limit_s`` it raises ``BusUnavailable``."""
        return await retrying(call, what=what, health=self.health,
                              limit_s=self.outage_limit_s, error=BusUnavailable)

    async def ping(self) -> None:
        """Check the connection (raises ``BusUnavailable`` with the URL when unreachable)."""
        try:
            await self.redis.ping()
        except RedisUnavailable as exc:
            raise BusUnavailable(str(exc)) from exc

    async def close(self) -> None:
        """Disconnect (the pool is the bus's)."""
        await self.redis.close()


class RedisBus(Bus):
    """Rooms shared by every node connected to the same Redis."""

    def __init__(self, url: str, *, history_size: int = 500, prefix: str = "bc",
                 outage_limit_s: float = 30.0, held_limit: int = 10_000,
                 epoch_check_s: float = 1.0, link: BusLink | None = None) -> None:
        self.link = link or BusLink(url, prefix=prefix, outage_limit_s=outage_limit_s)
        self.url = url
        self.history_size = history_size
        self.prefix = self.link.prefix
        self.epoch = ""
        self._epoch_key = f"{self.prefix}:epoch"
        self._epoch_run_key = f"{self.prefix}:epoch_run"
        self._run = ""  # the run of Redis (INFO run_id) this node last checked the epoch under
        # How often the epoch is checked when nothing else checks it (an idle node notices
        # within this that Redis lost its data).
        self.epoch_check_s = epoch_check_s
        self._watcher: asyncio.Task[None] | None = None
        # Events and translations are capped in the stream; history is capped separately.
        self.stream_maxlen = history_size * 8
        self._redis = self.link.client
        self._k = self.link.key
        self._retrying = self.link.retrying
        self._readers: dict[Subscription, asyncio.Task[None]] = {}
        self._publish_comment = self._redis.register_script(_PUBLISH_COMMENT)
        self._publish_translation = self._redis.register_script(_PUBLISH_TRANSLATION)
        self._delete_message = self._redis.register_script(_DELETE_MESSAGE)
        self._adopt_epoch_script = self._redis.register_script(_ADOPT_EPOCH)
        self.set_pinned_script = self._redis.register_script(_SET_PINNED)
        # Degraded mode: comments held per room, in order, until Redis takes them.
        self.outbox = Outbox(self._publish_held, self._publish_late_translation,
                             self._deliver_locally, limit=held_limit,
                             backend=f"Redis at {url}")

    @property  # type: ignore[override]
    def degraded(self) -> bool:
        """The last Redis call failed; operations are being retried."""
        return self.link.health.degraded

    async def start(self) -> None:
        """Connect (raises ``BusUnavailable`` with the URL when Redis cannot be reached)."""
        await self.link.ping()
        try:
            await self._adopt_epoch()
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"cannot reach Redis at {self.url}: {exc}; start "
                                 "redis-server or fix --redis-url") from exc
        self._watcher = asyncio.create_task(self._watch_epoch(), name="epoch-watch")

    async def _adopt_epoch(self) -> bool:
        """Take the epoch Redis holds, starting a new one if the key is gone (Redis lost its
        data: ids start over, so they must under a new name) or Redis restarted since it began
        (it may have come back from a snapshot older than its last ids). Returns True when the
        epoch changed; then every subscription gets ``EpochChanged`` before any later event."""
        run = str((await self._redis.info("server"))["run_id"])
        # Only a run this node has not seen may need the persistence check (two more calls).
        lossless = run == self._run or await self._lossless()
        raw = await self._adopt_epoch_script(keys=[self._epoch_key, self._epoch_run_key],
                                             args=[run, secrets.token_hex(8),
                                                   "1" if lossless else "0"])
        self._run = run
        epoch = raw.decode()
        if epoch == self.epoch:
            return False
        old, self.epoch = self.epoch, epoch
        if old:
            log.warning("Redis at %s lost its data or restarted (epoch %s gone; now %s): "
                        "message ids start over; this node's viewers reload their rooms",
                        self.url, old, epoch)
            for sub in self._readers:
                sub.queue.put_nowait(EpochChanged(sub.room, epoch))
        return True

    async def _lossless(self) -> bool:
        """Whether this Redis keeps every acknowledged write across a restart (AOF with
        ``appendfsync always``): then a restart is an outage, not a rollback. False when it
        cannot tell (``CONFIG`` renamed away, as some hosted Redis do): a new epoch costs a
        reconnect, a reused id a wrong chat."""
        try:
            if not int((await self._redis.info("persistence")).get("aof_enabled", 0)):
                return False
            config = await self._redis.config_get("appendfsync")
        except RedisError:
            return False
        value = config.get("appendfsync", config.get(b"appendfsync"))  # type: ignore[call-overload]
        return value in ("always", b"always")

    async def _watch_epoch(self) -> None:
        """Check the epoch every ``epoch_check_s`` (writes check it too; this catches a loss
        while the node only reads or is idle)."""
        while True:
            await asyncio.sleep(self.epoch_check_s)
            with contextlib.suppress(RedisError, OSError):
                await self._adopt_epoch()

    async def close(self) -> None:
        """Stop readers and the outbox, disconnect."""
        if self.outbox.waiting:
            log.warning("closing with %d comment(s) never published (Redis unreachable)",
                        self.outbox.waiting)
        await stop_tasks([*self._readers.values(), *self.outbox.tasks(),
                          *([self._watcher] if self._watcher else [])])
        self._readers.clear()
        await self.link.close()

    def _comment_script(self, draft: CommentDraft, ts: float, epoch: str,
                        replaces: int = 0) -> tuple[list[str], list[Any]]:
        args: list[Any] = [_pack_message(draft, ts, replaces), self.history_size,
                           self.stream_maxlen, self._k(draft.room, "tr", ""), epoch]
        for lang, t in draft.translations.items():
            args += [lang, _pack_translation(t)]
        # One token per comment: a retry whose first attempt did run gets the same id back.
        keys = [self._k(draft.room, "seq"), self._k(draft.room, "msgs"),
                self._k(draft.room, "ids"), self._k(draft.room, "ev"),
                self._k(draft.room, "pub", secrets.token_hex(8)),
                self._k(draft.room, "trimmed"), self._epoch_key]
        return keys, args

    async def publish_comment(self, draft: CommentDraft) -> ChatMessage:
        """Publish, or, while Redis is unreachable, hold the comment and return it as a
        provisional message (negative id) already delivered to this node's viewers."""
        msg = message_from_draft(draft, 0, time.time(), self.epoch)
        keys, _args = self._comment_script(draft, msg.ts, msg.epoch)
        if not self.outbox.holds(draft.room):  # else it must wait its turn behind held ones
            try:
                while True:
                    epoch = self.epoch
                    mid = int(await self._publish_comment(
                        keys=keys, args=self._comment_script(draft, msg.ts, epoch)[1]))
                    if mid != EPOCH_LOST:
                        break
                    await self._adopt_epoch()  # and publish again, under the new epoch
                msg.id, msg.epoch = mid, epoch
                self.link.health.answered()
                return msg
            except (RedisError, OSError) as exc:
                # It may have run (only the reply was lost): the held copy keeps the token,
                # so publishing it again returns that id instead of publishing twice.
                self.link.health.failed("publish_comment", exc)
        return self.outbox.hold(msg, draft, keys)

    async def _publish_held(self, held: Held) -> tuple[int, str]:
        """Publish a held comment with every translation made so far and its provisional
        number (``BusUnavailable`` while Redis is still away); its id and epoch."""
        while True:
            epoch = self.epoch
            mid = int(await self._retrying(
                "publish_comment",
                # The arguments are made again for each attempt: with the translations so far.
                lambda e=epoch: self._publish_comment(keys=held.keys,
                                                      args=self._held_args(held, e))))
            if mid != EPOCH_LOST:
                return mid, epoch
            await self._retrying("epoch", self._adopt_epoch)

    def _held_args(self, held: Held, epoch: str) -> list[Any]:
        draft = replace(held.draft, translations={**held.draft.translations, **held.late})
        return self._comment_script(draft, held.provisional.ts, epoch, held.number)[1]

    async def _publish_late_translation(self, room: str, message_id: int,
                                        translation: Translation, epoch: str) -> bool:
        return await self.publish_translation(room, message_id, translation, epoch=epoch)

    def _deliver_locally(self, room: str, event: RoomEvent) -> None:
        for sub in self._readers:
            if sub.room == room:
                sub.queue.put_nowait(event)

    async def publish_translation(self, room: str, message_id: int, translation: Translation,
                                  *, epoch: str) -> bool:
        if message_id < 0:  # a provisional message (degraded mode): numbers are this node's
            published = self.outbox.published(-message_id)
            if published is None:
                return self.outbox.add_translation(room, -message_id, translation)
            message_id, epoch = published
        keys = [self._k(room, "tr", str(message_id)), self._k(room, "msgs"), self._k(room, "ev"),
                self._epoch_key]
        args = [message_id, translation.lang, _pack_translation(translation), self.stream_maxlen,
                epoch, "1" if translation.translated else "0"]
        # The script makes a repeated attempt a no-op.
        done = int(await self._retrying(
            "publish_translation", lambda: self._publish_translation(keys=keys, args=args)))
        if done == EPOCH_LOST:
            # Made for a message of a lost epoch: its id may name another message now.
            await self._retrying("epoch", self._adopt_epoch)
            return False
        return bool(done)

    async def translation(self, room: str, message_id: int, lang: str,
                          *, epoch: str) -> Translation | None:
        async def read() -> tuple[bytes | None, bytes | None]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.get(self._epoch_key)
            pipe.hget(self._k(room, "tr", str(message_id)), lang)
            return tuple(await pipe.execute())  # type: ignore[return-value]

        current, raw = await self._retrying("translation", read)
        if raw is None or current is None or current.decode() != epoch:
            return None
        return _unpack_translation(raw)

    async def delete_message(self, room: str, message_id: int,
                             *, epoch: str | None = None) -> bool:
        # The token makes a retry whose first attempt did run answer True again.
        keys = [self._k(room, "msgs"), self._k(room, "ids"), self._k(room, "ev"),
                self._k(room, "pin"), self._k(room, "del", secrets.token_hex(8)),
                self._epoch_key]
        args = [message_id, self.stream_maxlen, self._k(room, "tr", ""), epoch or ""]
        done = int(await self._retrying(
            "delete_message", lambda: self._delete_message(keys=keys, args=args)))
        if done == EPOCH_LOST:
            await self._retrying("epoch", self._adopt_epoch)
            return False
        return bool(done)

    async def message(self, room: str, mid: int) -> ChatMessage | None:
        """One message of history with its translations, or None if it has left."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hget(self._k(room, "msgs"), mid)
        pipe.hgetall(self._k(room, "tr", str(mid)))
        data, trs = await pipe.execute()
        if data is None:
            return None
        msg = _unpack_message(room, mid, data)
        msg.translations = {k.decode(): _unpack_translation(v) for k, v in trs.items()}
        msg.epoch = self.epoch
        return msg

    async def subscribe(self, room: str) -> Subscription:
        # Start after the newest entry now, so every later event is read and none before.
        start = await self._retrying(
            "subscribe", lambda: latest_id(self._redis, self._k(room, "ev")))
        sub = Subscription(room, self._unsubscribe)
        self._readers[sub] = asyncio.create_task(self._read(sub, start), name=f"xread-{room}")
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        task = self._readers.pop(sub, None)
        if task is not None:
            task.cancel()

    async def _read(self, sub: Subscription, last: bytes) -> None:
        # After a failed read Redis may have come back without its data: the epoch first.
        entries = self.link.redis.tail(self._k(sub.room, "ev"), last,
                                       resume=self._adopt_epoch)
        async for _entry_id, fields in entries:
            event = await self._retrying("read", lambda f=fields: self._decode(sub.room, f))
            if event is not None:
                sub.queue.put_nowait(event)

    async def _decode(self, room: str, f: dict[bytes, bytes]) -> RoomEvent | None:
        if f[b"k"] == b"r":  # reactions carry no epoch and need no lookup
            return _unpack_reactions(room, f[b"r"])
        epoch = f[b"e"].decode() if b"e" in f else self.epoch
        if epoch != self.epoch:
            # Written under an epoch this node has not seen yet: adopt it first, so that its
            # subscribers get EpochChanged before this event.
            await self._adopt_epoch()
        if f[b"k"] == b"p":
            pin = int(f[b"id"]) if f[b"id"] else None
            # The message as it is now (deleted since: read as unpinned).
            return PinChanged(room, await self.message(room, pin) if pin is not None else None)
        mid = int(f[b"id"])
        if f[b"k"] == b"d":
            return MessageDeleted(room, mid)
        if f[b"k"] == b"t":
            return TranslationPublished(room, mid, _unpack_translation(f[b"t"]), epoch)
        msg = _unpack_message(room, mid, f[b"m"])
        msg.epoch = epoch
        if int(f.get(b"n", b"0")):
            msg.translations = await self._translations(room, mid)
        return CommentPublished(msg)

    async def _translations(self, room: str, mid: int) -> dict[str, Translation]:
        raw = await self._redis.hgetall(self._k(room, "tr", str(mid)))
        return {k.decode(): _unpack_translation(v) for k, v in raw.items()}

    async def history(self, room: str, since: int | None = None,
                      limit: int | None = None) -> tuple[list[ChatMessage], bool]:
        return await self._retrying("history", lambda: self._history(room, since, limit))

    async def _history(self, room: str, since: int | None,
                       limit: int | None) -> tuple[list[ChatMessage], bool]:
        ids_key = self._k(room, "ids")
        window = -(limit or self.history_size)
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._epoch_key)
        pipe.get(self._k(room, "seq"))
        pipe.get(self._k(room, "trimmed"))
        if since is None:
            pipe.zrange(ids_key, window, -1)
        else:
            pipe.zrangebyscore(ids_key, f"({since}", "+inf")
        epoch_raw, last_raw, trimmed_raw, ids_raw = await pipe.execute()
        epoch = epoch_raw.decode() if epoch_raw is not None else None
        if epoch != self.epoch:
            # Redis lost its data (or another node noticed first): ids started over, so
            # ``since`` names nothing; the latest window, under the epoch adopted now.
            await self._adopt_epoch()
            messages, _gap = await self._history(room, None, limit)
            return messages, since is not None
        gap = False
        if since is not None:
            resume = resume_after(since, int(last_raw or 0), int(trimmed_raw or 0))
            gap = resume.gap
            if resume.after is None:
                ids_raw = await self._redis.zrange(ids_key, window, -1)
            if limit:
                ids_raw = ids_raw[:limit]
        ids = [int(i) for i in ids_raw]
        if not ids:
            return [], gap
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(self._k(room, "msgs"), ids)
        for mid in ids:
            pipe.hgetall(self._k(room, "tr", str(mid)))
        packed, *translations = await pipe.execute()
        out = []
        for mid, data, trs in zip(ids, packed, translations, strict=True):
            if data is None:  # trimmed between the two reads
                continue
            msg = _unpack_message(room, mid, data)
            msg.translations = {k.decode(): _unpack_translation(v) for k, v in trs.items()}
            msg.epoch = epoch
            out.append(msg)
        return out, gap

    async def stats(self, room: str) -> RoomStats | None:
        last = await self._retrying("stats", lambda: self._redis.get(self._k(room, "seq")))
        if last is None:
            return None
        messages, _ = await self.history(room)
        translations = sum(sum(1 for t in m.translations.values() if t.translated)
                           for m in messages)
        return RoomStats(messages=len(messages), translations=translations,
                         last_id=int(last))

    async def publish_reactions(self, partial: ReactionsCounted) -> None:
        """One XADD on the room's event stream; dropped (logged) when Redis fails: the
        next interval brings fresh counts, and a retry would only delay them."""
        try:
            await self._redis.xadd(self._k(partial.room, "ev"),
                                   {"k": "r", "r": _pack_reactions(partial)},
                                   maxlen=self.stream_maxlen, approximate=True)
        except (RedisError, OSError) as exc:
            log.warning("reactions of room %s dropped: %s", partial.room, exc)

    async def has_message(self, room: str, message_id: int) -> bool:
        return bool(await self._retrying(
            "has_message", lambda: self._redis.hexists(self._k(room, "msgs"), message_id)))


def _pack_reactions(partial: ReactionsCounted) -> bytes:
    return msgpack.packb([partial.counts, [[mid, c] for mid, c in partial.comments.items()],
                          [[mid, n] for mid, n in partial.votes.items()]])


def _unpack_reactions(room: str, data: bytes) -> ReactionsCounted:
    fields = msgpack.unpackb(data)
    counts, comments = fields[0], fields[1]
    votes = fields[2] if len(fields) > 2 else []  # a node from before votes sends two
    return ReactionsCounted(room, dict(counts), {int(mid): dict(c) for mid, c in comments},
                            {int(mid): int(n) for mid, n in votes})


class RedisPresence(Presence):
    """Viewers summed over every node: each node writes its own counts per room, expiring
    after ``presence_ttl_s`` unless refreshed (a crashed node's viewers drop out)."""

    def __init__(self, link: BusLink, *, node_id: str | None = None,
                 presence_ttl_s: float = 10.0, viewers_cache_s: float = 0.0) -> None:
        self.link = link
        self.node_id = node_id or secrets.token_hex(4)
        self.presence_ttl_s = presence_ttl_s
        self.viewers_cache_s = viewers_cache_s
        self._redis = link.client
        self._k = link.key
        self._local: dict[str, Counter[str]] = {}  # this node's viewers, the source of truth
        self._viewers_cache: dict[str, tuple[float, dict[str, int]]] = {}
        self._viewers_last: dict[str, dict[str, int]] = {}  # answers viewers() in an outage
        self._heartbeat: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start refreshing this node's counts."""
        self._heartbeat = asyncio.create_task(self._refresh(), name="presence-heartbeat")

    async def close(self) -> None:
        """Stop refreshing and withdraw this node's counts."""
        if self._heartbeat is not None:
            await stop_tasks([self._heartbeat])
        with contextlib.suppress(RedisError, OSError):
            pipe = self._redis.pipeline(transaction=False)
            for room in self._local:
                pipe.delete(self._k(room, "p", self.node_id))
                pipe.srem(self._k(room, "nodes"), self.node_id)
            await pipe.execute()

    async def add_viewer(self, room: str, lang: str) -> None:
        self._local.setdefault(room, Counter())[lang] += 1
        await self._write(room)

    async def remove_viewer(self, room: str, lang: str) -> None:
        counts = self._local.get(room)
        if counts is None:
            return
        counts[lang] -= 1
        if counts[lang] <= 0:
            del counts[lang]
        if not counts:
            del self._local[room]  # before the await: concurrent leaves must not race on it
        await self._write(room)

    async def _write(self, room: str) -> None:
        await self.link.retrying("presence", lambda: self._write_once(room))

    async def _write_once(self, room: str) -> None:
        self._viewers_cache.pop(room, None)
        counts = self._local.get(room) or Counter()
        key = self._k(room, "p", self.node_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(key)
        if counts:
            pipe.hset(key, mapping=dict(counts))
            pipe.pexpire(key, int(self.presence_ttl_s * 1000))
            pipe.sadd(self._k(room, "nodes"), self.node_id)
        else:
            pipe.srem(self._k(room, "nodes"), self.node_id)
        await pipe.execute()

    async def _refresh(self) -> None:
        """Keep this node's presence alive; a crashed node's expires with its TTL."""
        while True:
            await asyncio.sleep(self.presence_ttl_s / 3)
            try:
                for room in list(self._local):
                    await self._write(room)
            except (RedisError, OSError, BusUnavailable) as exc:
                log.warning("refreshing presence failed: %s", exc)

    async def viewers(self, room: str) -> dict[str, int]:
        # During an outage: the last counts read, else this node's own viewers.
        return await self.link.or_last_known(
            "viewers", lambda: self._viewers(room), lambda: self._last_viewers(room))

    def _last_viewers(self, room: str) -> dict[str, int]:
        last = self._viewers_last.get(room)
        return dict(last) if last is not None else dict(self._local.get(room) or {})

    async def _viewers(self, room: str) -> dict[str, int]:
        cached = self._viewers_cache.get(room)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.viewers_cache_s:
            return dict(cached[1])
        nodes = [n.decode() for n in await self._redis.smembers(self._k(room, "nodes"))]
        total: Counter[str] = Counter()
        if nodes:
            pipe = self._redis.pipeline(transaction=False)
            for node in nodes:
                pipe.hgetall(self._k(room, "p", node))
            gone = []
            for node, counts in zip(nodes, await pipe.execute(), strict=True):
                if not counts:
                    gone.append(node)  # expired: that node stopped refreshing
                for lang, n in counts.items():
                    total[lang.decode()] += int(n)
            if gone:
                await self._redis.srem(self._k(room, "nodes"), *gone)
        result = {lang: n for lang, n in total.items() if n > 0}
        self._viewers_cache[room] = (now, result)
        self._viewers_last[room] = result
        return dict(result)


VOTES_TTL_S = 86_400  # a question's voters are kept a day after its last vote


class RedisRoomState(RoomState):
    """Pins, mutes and question votes (a set of voters per question) shared by every node.
    Pins are set through the ``RedisBus`` whose history they point into and whose event
    stream announces them."""

    def __init__(self, bus: RedisBus) -> None:
        self._bus = bus
        self.link = bus.link
        self._redis = bus.link.client
        self._k = bus.link.key
        self._muted_known: set[tuple[str, str]] = set()  # answers is_muted during an outage

    async def set_pinned(self, room: str, message_id: int | None) -> ChatMessage | None:
        keys = [self._k(room, "msgs"), self._k(room, "pin"), self._k(room, "ev")]
        args = ["" if message_id is None else message_id, self._bus.stream_maxlen]
        # Setting the same pin again is harmless, so a retry needs no token.
        if not await self.link.retrying(
                "set_pinned", lambda: self._bus.set_pinned_script(keys=keys, args=args)):
            raise UnknownMessage(message_id)
        if message_id is None:
            return None
        return await self.link.retrying("set_pinned",
                                        lambda: self._bus.message(room, message_id))

    async def pinned(self, room: str) -> ChatMessage | None:
        raw = await self.link.retrying("pinned", lambda: self._redis.get(self._k(room, "pin")))
        if raw is None:
            return None
        return await self.link.retrying("pinned", lambda: self._bus.message(room, int(raw)))

    async def mute(self, room: str, user_id: str) -> None:
        self._muted_known.add((room, user_id))
        await self.link.retrying("mute",
                                 lambda: self._redis.sadd(self._k(room, "muted"), user_id))

    async def unmute(self, room: str, user_id: str) -> None:
        await self.link.retrying("unmute",
                                 lambda: self._redis.srem(self._k(room, "muted"), user_id))

    async def is_muted(self, room: str, user_id: str) -> bool:
        # During an outage: the mutes this node has seen.
        muted = bool(await self.link.or_last_known(
            "is_muted", lambda: self._redis.sismember(self._k(room, "muted"), user_id),
            lambda: (room, user_id) in self._muted_known))
        if muted:
            self._muted_known.add((room, user_id))
        return muted

    async def add_vote(self, room: str, message_id: int, voter: str) -> Vote:
        msg = await self.link.retrying("add_vote", lambda: self._bus.message(room, message_id))
        if msg is None:
            return Vote(VoteOutcome.NOT_FOUND)
        if not msg.question:
            return Vote(VoteOutcome.NOT_A_QUESTION)
        # Under the epoch: ids issued again after a restore never inherit old voters.
        key = self._k(room, "votes", self._bus.epoch, str(message_id))

        async def add() -> tuple[int, int]:
            pipe = self._redis.pipeline(transaction=True)
            pipe.sadd(key, voter)
            pipe.scard(key)
            pipe.expire(key, VOTES_TTL_S)
            added, count, _ = await pipe.execute()
            return int(added), int(count)

        # Not retried: a retry after a lost reply would read the vote as a second one.
        added, count = await add()
        return Vote(VoteOutcome.COUNTED if added else VoteOutcome.ALREADY_VOTED, count)

    async def votes(self, room: str, message_ids: list[int]) -> dict[int, int]:
        if not message_ids:
            return {}

        async def read() -> list[int]:
            pipe = self._redis.pipeline(transaction=False)
            for mid in message_ids:
                pipe.scard(self._k(room, "votes", self._bus.epoch, str(mid)))
            return [int(n) for n in await pipe.execute()]

        counts = await self.link.retrying("votes", read)
        return dict(zip(message_ids, counts, strict=True))


def redis_backend(url: str, *, history_size: int = 500, prefix: str = "bc",
                  presence_ttl_s: float = 10.0, viewers_cache_s: float = 0.0,
                  node_id: str | None = None, outage_limit_s: float = 30.0,
                  held_limit: int = 10_000) -> RoomBackend:
    """Rooms shared through the Redis at ``url``: the bus, presence and room state over one
    connection pool."""
    bus = RedisBus(url, history_size=history_size, prefix=prefix,
                   outage_limit_s=outage_limit_s, held_limit=held_limit)
    presence = RedisPresence(bus.link, node_id=node_id, presence_ttl_s=presence_ttl_s,
                             viewers_cache_s=viewers_cache_s)
    return RoomBackend(bus=bus, presence=presence, state=RedisRoomState(bus))
