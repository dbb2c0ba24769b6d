"""One viewer's WebSocket session: handshake, welcome, the read loop, and clean-up.

The protocol decisions live in ``wire``; this module only moves frames between the
socket, the room and the pipeline. It is given what it uses in a ``SessionDeps``, and counts
the frames it refuses in a ``SessionCounters``."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from babelcast.gateway.bus.base import Bus, BusUnavailable, UnknownMessage
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.bus.state import RoomState
from babelcast.gateway.chat.moderation import CommentRefused
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.chat.reactions import ReactionAggregator, ReactionRefused
from babelcast.gateway.chat.sink import ChatEventSink
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.chat.votes import QuestionVotes
from babelcast.gateway.events import ChatMessage
from babelcast.gateway.limits.admission import ConnectionAdmission, Refusal
from babelcast.gateway.limits.base import RateLimiter
from babelcast.gateway.rooms.batch import WriteBatch
from babelcast.gateway.rooms.connection import Connection, ConnectionInfo
from babelcast.gateway.rooms.room import LocalRoom, RoomRegistry
from babelcast.gateway.web.auth import Role, RoomIdentity, RoomTokens, TokenError
from babelcast.gateway.web.uvicorn_protocol import DIRECT_SEND_EXTENSION
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.client import (
    BanIn,
    ClientFrame,
    CommentIn,
    DeleteIn,
    InputLimits,
    PingIn,
    PinIn,
    ReactIn,
    SetLangIn,
    UnbanIn,
    VoteIn,
    clean_name,
    parse_client_frame,
    validate_lang,
    validate_name,
    validate_room,
    validate_since,
)
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.framing import wire_message
from babelcast.gateway.wire.server import (
    ack_frame,
    action_ack_frame,
    comment_frame,
    error_frame,
    lang_changed_frame,
    pong_frame,
    welcome_frame,
)
from babelcast.langid import UNDETERMINED

# How far back (in ids) a resume looks for comments that may still have been held back.
RESUME_LOOKBACK = 64

log = logging.getLogger("babelcast.session")


@dataclass(frozen=True)
class SessionConfig:
    """The settings a session reads."""

    max_text_chars: int = 500
    max_frame_bytes: int = 8192
    max_name_chars: int = 32
    send_queue_frames: int = 256
    welcome_history: int = 50
    rate_limit_per_s: float = 2.0
    rate_limit_burst: int = 8
    rate_limit_strikes: int = 20  # rejected frames in a row before the connection is closed
    host_key: str = ""  # proves role=host under --auth none; empty: no host role
    reaction_rate_per_s: float = 10.0  # reactions spend a bucket of their own
    reaction_burst: int = 20


@dataclass
class SessionCounters:
    """Client frames the sessions of this process refused (for ``/v1/stats``, ``/metrics``)."""

    bad_frames: int = 0  # refused with an error (invalid, forbidden, failed)
    rate_limited: int = 0  # refused by the rate limit


@dataclass(frozen=True)
class SessionDeps:
    """What a viewer session uses."""

    config: SessionConfig
    bus: Bus  # history, and the epoch ids belong to
    presence: Presence  # viewers per language, for welcome
    room_state: RoomState  # pins and mutes
    rooms: RoomRegistry
    pipeline: CommentPipeline  # submits comments; its wait_s is the hold window
    translations: TranslationTracker  # asked for the translations history frames need
    admission: ConnectionAdmission
    user_rates: RateLimiter  # frames per user, kept across reconnects
    tokens: RoomTokens | None  # --auth jwt; None: anonymous connections
    write_batch: WriteBatch | None = None
    counters: SessionCounters = field(default_factory=SessionCounters)
    reactions: ReactionAggregator | None = None  # None: no reactions on this server
    reaction_rates: RateLimiter | None = None  # reactions per user, apart from frames
    events: ChatEventSink | None = None  # told about deletions and mutes (webhooks)
    votes: QuestionVotes | None = None  # None: no question votes on this server


class ViewerSession:
    """Runs one connection from accept to close."""

    def __init__(self, deps: SessionDeps, websocket: WebSocket) -> None:
        self.deps = deps
        self.ws = websocket
        s = deps.config
        self.limits = InputLimits(max_text_chars=s.max_text_chars,
                                  max_frame_bytes=s.max_frame_bytes)
        self.conn: Connection | None = None
        self.room: LocalRoom | None = None
        self.identity: RoomIdentity | None = None  # from the room token (--auth jwt)
        self.role = Role.VIEWER  # checked for every frame: only hosts and moderators moderate
        self.rate_key: tuple[str, ...] = ()  # whose frame-rate bucket this connection spends
        self.reactions_cut = False  # over the reaction budget: told once, then dropped silently

    @property
    def host(self) -> bool:
        """Whether this connection's role moderates (host or moderator): the host-only frames
        and the privileges of hosts (never muted, never shed) go by it."""
        return self.role.moderates

    async def run(self) -> None:
        """Admit (or refuse, before accepting), then serve the connection until it closes."""
        ip = self.ws.client.host if self.ws.client else "unknown"
        admission = self.deps.admission
        refusal = admission.check(ip, self.ws.headers.get("origin"),
                                  asyncio.get_running_loop().time())
        if refusal is None and self.deps.tokens is not None:
            try:
                self.identity = self.deps.tokens.verify(self.ws.query_params.get("token"),
                                                      self.ws.path_params["room"])
            except TokenError as exc:
                admission.refused += 1
                refusal = Refusal(403, exc.problem.value, exc.message)
        if refusal is not None:
            await self._refuse(refusal)
            return
        admission.opened(ip)
        try:
            await self._serve(ip)
        finally:
            admission.closed(ip)

    async def _refuse(self, refusal: Refusal) -> None:
        """Answer the handshake with an HTTP error (the reason in a JSON body) instead of
        accepting; servers without the denial-response extension answer a bare 403."""
        # debug: a refused crowd must not flood the log; /metrics counts refusals.
        log.debug("refused a WebSocket from %s: %s", self.ws.client, refusal.code)
        if "websocket.http.response" in self.ws.scope.get("extensions", {}):
            await self.ws.send_denial_response(JSONResponse(
                {"error": {"code": refusal.code, "message": refusal.message}},
                status_code=refusal.status))
        else:
            await self.ws.close(codes.CLOSE_POLICY_VIOLATION, refusal.code)

    async def _serve(self, ip: str) -> None:
        offered = self.ws.scope.get("subprotocols", [])
        codec, accepted = Codec.for_subprotocols(offered)
        await self.ws.accept(subprotocol=accepted)
        try:
            info, since, stale = self._handshake(codec, ip)
        except ProtocolError as exc:
            await self.ws.send(wire_message(exc.frame(), codec))
            await self.ws.close(codes.CLOSE_BAD_HANDSHAKE, exc.code)
            return
        direct = self.ws.scope.get("extensions", {}).get(DIRECT_SEND_EXTENSION)
        conn = self.conn = Connection(info, self.ws.send, self._close_socket,
                                      self.deps.config.send_queue_frames, direct,
                                      self.deps.write_batch)
        try:
            room = self.room = await self.deps.rooms.get_or_create(info.room)
            await room.join(conn)
        except BusUnavailable as exc:
            await self.ws.send(wire_message(error_frame(
                codes.UNAVAILABLE, f"the chat is unavailable right now ({exc}); reconnect later"),
                codec))
            await self.ws.close(codes.CLOSE_TRY_AGAIN_LATER, "unavailable")
            return
        try:
            await self._welcome(since, stale)
            conn.start_writer()
            await self._read_loop()
        finally:
            await room.leave(conn)
            await self.deps.rooms.release(room)
            await conn.finish()
            self.deps.rooms.retire(conn)

    def _handshake(self, codec: Codec, ip: str) -> tuple[ConnectionInfo, int | None, bool]:
        s = self.deps.config
        q = self.ws.query_params
        room = validate_room(self.ws.path_params["room"])
        lang = validate_lang(q.get("lang", "en"))
        since = validate_since(q.get("since"))
        if self.identity is not None:
            # --auth jwt: who this is comes from the token; `name` and `role` in the URL are
            # ignored, so nobody can pick a name or a role the platform did not give them.
            user_id, self.role = self.identity.user_id, self.identity.role
            # The platform's name, cleaned like a chosen one (no bidi overrides in a name).
            name = (clean_name(self.identity.name)[:s.max_name_chars]
                    or "guest-" + user_id[:8])
            self.rate_key = ("user", room, user_id)
        else:
            user_id = "u-" + secrets.token_hex(4)
            name = validate_name(q.get("name"), s.max_name_chars,
                                 fallback="guest-" + user_id[2:])
            self.role = self._host_role(q.get("role"), q.get("host_key"))
            # Anonymous: the same address and chosen name is the same user (nameless viewers
            # of one address share a bucket), so reconnecting does not refill it.
            self.rate_key = ("anonymous", room, ip, q.get("name", ""))
        # An id from another epoch (the server restarted) says nothing about what was missed.
        stale = since is not None and q.get("epoch", self.deps.bus.epoch) != self.deps.bus.epoch
        info = ConnectionInfo(room=room, user=name, user_id=user_id, lang=lang, codec=codec)
        return info, (None if stale else since), stale

    def _host_role(self, role: str | None, key: str | None) -> Role:
        """The role an anonymous (``--auth none``) connection asked for and may have: a host
        proves itself with the configured ``host_key`` (a local/dev convenience)."""
        if role in (None, "", "viewer"):
            return Role.VIEWER
        if role != "host":
            raise ProtocolError(codes.INVALID_FIELD, f"role={role[:40]!r}: expected 'viewer' or "
                                "'host'")
        expected = self.deps.config.host_key
        if not expected:
            raise ProtocolError(codes.FORBIDDEN, "the host role is disabled on this server "
                                "(no --host-key / BABELCAST_HOST_KEY set)")
        if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
            raise ProtocolError(codes.FORBIDDEN, "role=host needs the right host_key")
        return Role.HOST

    async def _pinned_frame(self) -> dict[str, Any] | None:
        """The room's pinned comment in the connection's language, or None."""
        assert self.conn is not None
        msg = await self.deps.room_state.pinned(self.conn.info.room)
        if msg is None:
            return None
        return self._comment_frame(msg, await self._votes([msg]))

    def _comment_frame(self, msg: ChatMessage, votes: dict[int, int]) -> dict[str, Any]:
        assert self.conn is not None
        lang = self.conn.lang
        return comment_frame(msg, lang, self.deps.translations.request(msg, lang),
                             votes=votes.get(msg.id, 0))

    async def _votes(self, messages: list[ChatMessage]) -> dict[int, int]:
        """The vote counts of the questions among ``messages``."""
        assert self.conn is not None
        questions = [m.id for m in messages if m.question and m.id >= 0]
        if not questions:
            return {}
        return await self.deps.room_state.votes(self.conn.info.room, questions)

    async def _history_frames(self, since: int | None) -> tuple[list[dict[str, Any]], bool]:
        """History in the connection's language; missing translations are requested and
        marked pending (a ``translation`` frame follows each)."""
        assert self.conn is not None
        s = self.deps.config
        limit = None if since is not None else s.welcome_history
        messages, gap = await self.deps.bus.history(self.conn.info.room, since=since, limit=limit)
        if since is not None:
            messages = await self._maybe_held(since) + messages
        votes = await self._votes(messages)
        frames = [self._comment_frame(msg, votes) for msg in messages]
        if messages:
            self.conn.skip_through = messages[-1].id
        return frames, gap

    async def _maybe_held(self, since: int) -> list[ChatMessage]:
        """Comments before ``since`` that this client may not have had yet: those in another
        language published within the hold window before ``since`` could still have been
        held back for their translation when comment ``since`` reached it (gateway.room).
        They are repeated on resume; clients keep one copy per id."""
        assert self.conn is not None
        hold_s = self.deps.pipeline.wait_s
        if hold_s <= 0 or since <= 0:
            return []
        earlier, _ = await self.deps.bus.history(self.conn.info.room,
                                               since=max(0, since - RESUME_LOOKBACK),
                                               limit=RESUME_LOOKBACK)
        earlier = [m for m in earlier if m.id <= since]
        if not earlier:
            return []
        newest_ts = max(m.ts for m in earlier)
        lang = self.conn.lang
        # (Its translation may be in history by now and still not have reached the client.)
        return [m for m in earlier if m.id < since and m.ts >= newest_ts - hold_s
                and m.src_lang not in (lang, UNDETERMINED)]

    async def _welcome(self, since: int | None, stale: bool) -> None:
        assert self.conn is not None
        info = self.conn.info
        # Taken before history is read: if the epoch changes meanwhile, this viewer is told
        # the old one and its room sends it to reconnect (never new ids under an old epoch).
        epoch = self.conn.epoch = self.deps.bus.epoch
        history, gap = await self._history_frames(since)
        gap = gap or stale
        pinned = await self._pinned_frame()
        viewers = await self.deps.presence.viewers(info.room)
        s = self.deps.config
        reactions = self.deps.reactions
        allowed = await reactions.allowed(info.room) if reactions is not None else ()
        frame = welcome_frame(
            room=info.room, epoch=epoch, user_id=info.user_id, name=info.user,
            lang=info.lang, role=self.role.value, history=history, gap=gap, pinned=pinned,
            viewers=viewers, max_text_chars=s.max_text_chars,
            max_frame_bytes=s.max_frame_bytes, rate_limit_per_s=s.rate_limit_per_s,
            rate_limit_burst=s.rate_limit_burst, reactions=allowed)
        # Ahead of any live frame queued since join: the client must see welcome first.
        self.conn.queue.put_first(wire_message(frame, info.codec))

    async def _read_loop(self) -> None:
        assert self.conn is not None
        s = self.deps.config
        rates = self.deps.user_rates
        counters = self.deps.counters
        strikes = 0
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("text")
            if data is None:
                data = message.get("bytes", b"")
            # Parsed first: reactions spend a budget of their own (liking never costs a
            # comment), every other frame, refused ones included, the frame budget.
            parsed: ClientFrame | ProtocolError
            try:
                parsed = parse_client_frame(data, self.conn.codec, self.limits,
                                            self._may_moderate())
            except ProtocolError as exc:
                parsed = exc
            if isinstance(parsed, ReactIn):
                try:
                    await self._react(parsed)
                except Exception:
                    log.exception("reaction from %s in %s failed", self.conn.info.user_id,
                                  self.conn.info.room)
                    self.conn.push_frame(error_frame(
                        codes.INTERNAL_ERROR, "the server failed to count this reaction",
                        parsed.client_id))
                continue
            if not await rates.take(self.rate_key):
                strikes += 1
                counters.rate_limited += 1
                if strikes > s.rate_limit_strikes:
                    self.conn.close(codes.CLOSE_RATE_LIMITED, "rate limit exceeded repeatedly")
                    return
                self.conn.push_frame(error_frame(
                    codes.RATE_LIMITED, f"too many frames: at most {s.rate_limit_per_s:g}/s "
                    f"(bursts of {s.rate_limit_burst}); slow down", parsed.client_id))
                continue
            strikes = 0
            try:
                if isinstance(parsed, ProtocolError):
                    raise parsed
                await self._handle(parsed)
            except ProtocolError as exc:
                counters.bad_frames += 1
                if exc.code == codes.FORBIDDEN and self.role.moderates:
                    exc = ProtocolError(codes.FORBIDDEN, "your room token has expired: host "
                                        "actions need a new one; reconnect with it",
                                        exc.client_id)
                self.conn.push_frame(exc.frame())
            except Exception:
                # A bug must cost this one frame, not the viewer's connection.
                log.exception("frame from %s in %s failed", self.conn.info.user_id,
                              self.conn.info.room)
                self.conn.push_frame(error_frame(codes.INTERNAL_ERROR, "the server failed to "
                                                 "handle this frame; it was not delivered"))

    async def _react(self, frame: ReactIn) -> None:
        """Count a reaction, within the user's reaction budget. Over it, the first reaction
        gets ``rate_limited`` and later ones are dropped silently (counted) until one is
        accepted again; a reaction flood never closes the connection."""
        conn, reactions, rates = self.conn, self.deps.reactions, self.deps.reaction_rates
        assert conn is not None
        if reactions is None or rates is None:
            self.deps.counters.bad_frames += 1
            conn.push_frame(error_frame(codes.UNKNOWN_REACTION, "reactions are off on this "
                                        "server", frame.client_id))
            return
        if not await rates.take(self.rate_key):
            reactions.stats.dropped += 1
            if not self.reactions_cut:
                self.reactions_cut = True
                s = self.deps.config
                conn.push_frame(error_frame(
                    codes.RATE_LIMITED, f"too many reactions: at most "
                    f"{s.reaction_rate_per_s:g}/s (bursts of {s.reaction_burst}); the ones "
                    "over it are not counted", frame.client_id))
            return
        self.reactions_cut = False
        try:
            await reactions.react(conn.info.room, frame.reaction, frame.target)
        except ReactionRefused as exc:
            self.deps.counters.bad_frames += 1
            conn.push_frame(exc.protocol_error(frame.client_id).frame())

    def _may_moderate(self) -> bool:
        """Whether this frame may be a host action: the role allows it and, with a token, the
        token has not expired since the connection opened (a removed moderator's powers end
        with their last token; reading and commenting go on)."""
        if not self.role.moderates:
            return False
        return self.identity is None or time.time() < self.identity.expires_at

    async def _handle(self, frame: ClientFrame) -> None:
        conn, room = self.conn, self.room
        assert conn is not None and room is not None
        info = conn.info
        if isinstance(frame, CommentIn):
            # Hosts and moderators are never silenced: one rogue moderator cannot mute the
            # host.
            if not self.host and await self.deps.room_state.is_muted(info.room, info.user_id):
                raise ProtocolError(codes.MUTED, "you are muted in this room; your comment was "
                                    "not published", frame.client_id)
            try:
                msg = await self.deps.pipeline.submit(
                    info.room, info.user, info.user_id, conn.lang, frame.text,
                    gate=room.comment_gate, privileged=self.host,
                    sender="\x1f".join(self.rate_key))  # slow mode survives reconnects
            except CommentRefused as exc:
                raise exc.protocol_error(frame.client_id) from None
            # (A negative id is held while Redis is unreachable; a `replaces` names it later.)
            conn.push_frame(ack_frame(frame.client_id, msg))
        elif isinstance(frame, SetLangIn):
            if frame.lang != conn.lang:
                await room.move(conn, frame.lang)
            history, _ = await self._history_frames(None)
            conn.push_frame(lang_changed_frame(conn.lang, frame.client_id, history,
                                               await self._pinned_frame()))
        elif isinstance(frame, PingIn):
            conn.push_frame(pong_frame(frame.client_id))
        elif isinstance(frame, VoteIn):
            if self.deps.votes is None:
                raise ProtocolError(codes.NOT_A_QUESTION, "question votes are off on this "
                                    "server", frame.client_id)
            # One vote per user: the user the frame budget is kept for.
            await self.deps.votes.vote(info.room, frame.id, "\x1f".join(self.rate_key),
                                       frame.client_id)
        elif isinstance(frame, DeleteIn):
            if not await self.deps.bus.delete_message(info.room, frame.id):
                raise self._not_found(frame.id, frame.client_id)
            if self.deps.events is not None:
                self.deps.events.comment_deleted(info.room, frame.id, info.user_id)
            self._ack(frame.client_id, str(frame.id))
        elif isinstance(frame, PinIn):
            try:
                await self.deps.room_state.set_pinned(info.room, frame.id)
            except UnknownMessage:
                raise self._not_found(frame.id, frame.client_id) from None
            self._ack(frame.client_id, None if frame.id is None else str(frame.id))
        elif isinstance(frame, BanIn):
            await self.deps.room_state.mute(info.room, frame.user_id)
            if self.deps.events is not None:
                self.deps.events.user_muted(info.room, frame.user_id, info.user_id)
            self._ack(frame.client_id, frame.user_id)
        elif isinstance(frame, UnbanIn):
            await self.deps.room_state.unmute(info.room, frame.user_id)
            self._ack(frame.client_id, frame.user_id)

    def _ack(self, client_id: str | None, target: str | None) -> None:
        assert self.conn is not None
        self.conn.push_frame(action_ack_frame(client_id, target))

    @staticmethod
    def _not_found(message_id: int | None, client_id: str | None) -> ProtocolError:
        return ProtocolError(codes.NOT_FOUND, f"message {message_id} is not in this room's "
                             "history (deleted, or too old)", client_id)

    async def _close_socket(self, code: int, reason: str) -> None:
        await self.ws.close(code, reason)


async def run_session(deps: SessionDeps, websocket: WebSocket) -> None:
    """Entry point for the WebSocket route."""
    with contextlib.suppress(WebSocketDisconnect):
        await ViewerSession(deps, websocket).run()
