"""The application object: ``Gateway`` owns every part; ``create_app`` wires it to Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.bus.memory import memory_backend
from babelcast.gateway.bus.redis import redis_backend
from babelcast.gateway.chat.insights import InsightsWindow
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.limits.admission import ConnectionAdmission
from babelcast.gateway.limits.rates import RateLimiter, rate_limiter
from babelcast.gateway.rooms.fanout import StallWatchdog, WriteBatch
from babelcast.gateway.rooms.room import RoomRegistry
from babelcast.gateway.settings import Settings
from babelcast.gateway.stores.memory import GlossaryStore, RoomSettingsStore
from babelcast.gateway.stores.redis import RedisGlossaryStore, RedisRoomSettingsStore
from babelcast.gateway.web import rest
from babelcast.gateway.web.auth import RoomTokens
from babelcast.gateway.web.metrics import GatewayMetrics
from babelcast.gateway.web.rest import STATIC_DIR
from babelcast.gateway.web.session import run_session
from babelcast.gateway.wire import protocol as p
from babelcast.glossary import load_glossaries
from babelcast.langid import Detector
from babelcast.translation import EmbeddedEngine, Engine, TranslationService
from babelcast.translation.remote.jobs import RemoteTranslator, TranslatorWorker

log = logging.getLogger("babelcast")


def load_engines(settings: Settings) -> list[Engine]:
    """The engines ``settings`` ask for, loaded and warmed up (blocking: call off the loop):
    nothing for ``--engine none``; the models file's models (then the embedded engine unless
    the file disables it) for ``--models``; else the embedded engine alone."""
    if settings.engine == "none":
        return []
    if not settings.models:
        engine = EmbeddedEngine()
        engine.warm_up()
        return [engine]
    # Imported here: a gateway without a models file never loads CTranslate2.
    from babelcast.translation.config import load_engines_from_config, load_models_config
    from babelcast.translation.ct2 import CT2Options

    defaults = CT2Options(device=settings.device, compute_type=settings.compute_type,
                          inter_threads=settings.inter_threads,
                          intra_threads=settings.intra_threads, beam_size=settings.beam_size)
    engines = load_engines_from_config(load_models_config(settings.models), defaults,
                                       make_embedded=EmbeddedEngine,
                                       progress=lambda m: log.info("%s", m))
    for engine in engines:
        warm_up = getattr(engine, "warm_up", None)
        if warm_up is not None:
            warm_up()
    return engines


@dataclass(frozen=True)
class FanoutTotals:
    connections: int
    queued_frames: int
    frames_dropped: int
    frames_direct: int
    frames_joined: int  # direct frames that shared a write with an earlier one


class Gateway:
    """Everything one process runs, for its role. Parts are created here and nowhere else.

    - ``all``: connections, rooms and models in one process (a MemoryBus, or Redis when
      ``redis_url`` is set so several such nodes share rooms).
    - ``gateway``: connections and rooms; translation jobs go to translators through Redis.
    - ``translator``: models only; takes jobs from Redis (no WebSocket endpoint).
    """

    def __init__(self, settings: Settings, *, backend: RoomBackend | None = None,
                 engines: Sequence[Engine] | None = None) -> None:
        self.settings = settings
        self.role = settings.role
        url = settings.redis_url
        self.backend = backend or (
            redis_backend(url, history_size=settings.history_size,
                          presence_ttl_s=settings.presence_ttl_s) if url
            else memory_backend(settings.history_size))
        self.bus = self.backend.bus
        self.presence = self.backend.presence
        self.room_state = self.backend.state
        self.glossaries: GlossaryStore | RedisGlossaryStore = (
            RedisGlossaryStore(url) if url else GlossaryStore())
        self.room_settings: RoomSettingsStore | RedisRoomSettingsStore = (
            RedisRoomSettingsStore(url) if url else RoomSettingsStore())
        self._given_engines = engines
        self.insights = InsightsWindow(settings.insights_window_s)  # the host console's (#7)
        self.detector: Detector | None = None
        self.translator: TranslationService | RemoteTranslator | None = None
        self.service: TranslationService | None = None  # local models (roles all, translator)
        self.worker: TranslatorWorker | None = None
        self.pipeline: CommentPipeline
        self.rooms: RoomRegistry
        self.watchdog: StallWatchdog
        self.ready = False
        self.metrics = GatewayMetrics(self)
        self.tokens = RoomTokens(settings.jwt_secret) if settings.auth == "jwt" else None
        self.admission = ConnectionAdmission(
            settings.allowed_origin_list, settings.max_connections_per_ip,
            settings.connect_rate_per_ip, settings.connect_burst_per_ip)
        # Keyed by user, not connection: reconnecting does not refill a user's bucket; with
        # Redis, reconnecting to another node does not either.
        self.user_rates: RateLimiter = rate_limiter(url, settings.rate_limit_per_s,
                                                    settings.rate_limit_burst, name="user")
        # POST /v1/translate spends model time: per client IP, shared like the user buckets.
        self.translate_rates: RateLimiter | None = (
            rate_limiter(url, settings.translate_rate_per_ip, settings.translate_burst_per_ip,
                         name="translate") if settings.translate_rate_per_ip > 0 else None)
        # Counters for /v1/stats.
        self.frames_dropped = 0
        self.direct_writes = 0
        # Joins each viewer's direct-path frames per loop iteration (one send() for several).
        self.write_batch = WriteBatch()
        self.bad_frames = 0
        self.rate_limited = 0

    @property
    def serves_viewers(self) -> bool:
        return self.role != "translator"

    def fanout_totals(self) -> FanoutTotals:
        """Connection and frame counters: closed connections' plus the open ones'."""
        conns = list(self.rooms.connections())
        return FanoutTotals(
            connections=len(conns), queued_frames=sum(len(c.queue) for c in conns),
            frames_dropped=self.frames_dropped + sum(c.queue.dropped for c in conns),
            frames_direct=self.direct_writes + sum(c.direct_writes for c in conns),
            frames_joined=self.write_batch.joined)

    async def start(self) -> None:
        """Connect to Redis (if used), load models (on a thread) and start background tasks.
        Raises ``BusUnavailable`` when a role that needs Redis cannot reach it."""
        s = self.settings
        if self.serves_viewers:
            await self.backend.start()
        await self.glossaries.start()
        await self.room_settings.start()
        if s.glossaries:
            # Validated by the CLI before start-up; a PUT over REST later replaces a file's.
            for g in (await asyncio.to_thread(load_glossaries, [s.glossaries])).values():
                await self.glossaries.put(g.name, json.dumps(g.to_json()).encode())
            log.info("glossaries loaded from %s", s.glossaries)
        if self.role in ("all", "translator"):
            engines = self._given_engines
            if engines is None:
                engines = await asyncio.to_thread(load_engines, s)
            self.service = TranslationService(
                engines, threads=s.translation_threads,
                timeout_s=s.translation_timeout_ms / 1000, cache_entries=s.cache_entries,
                max_batch_tokens=s.batch_max_tokens, max_wait_ms=s.batch_max_wait_ms,
                max_queue=s.translation_queue_size, priority_langs=s.priority_lang_set)
            self.translator = self.service
            log.info("models loaded: %s", ", ".join(e.name for e in engines) or "none")
        if self.role == "translator":
            assert self.service is not None and isinstance(self.glossaries, RedisGlossaryStore)
            self.worker = TranslatorWorker(
                self.service, s.redis_url, concurrency=s.translator_concurrency,
                claim_timeout_s=s.claim_timeout_ms / 1000,
                heartbeat_s=s.translator_heartbeat_ms / 1000, cache_ttl_s=s.redis_cache_ttl_s,
                glossaries=self.glossaries)
            await self.worker.start()
        if self.role == "gateway":
            remote = RemoteTranslator(s.redis_url, timeout_s=s.translation_timeout_ms / 1000,
                                      cache_entries=s.cache_entries)
            await remote.start()
            self.translator = remote
        if self.serves_viewers:
            assert self.translator is not None
            self.detector = await asyncio.to_thread(Detector)
            self.pipeline = CommentPipeline(self.detector, self.translator, self.bus,
                                            self.presence, self.glossaries, self.room_settings,
                                            wait_s=s.translation_wait_ms / 1000,
                                            metrics=self.metrics,
                                            owed_wait_s=s.translation_timeout_ms / 1000 + 2,
                                            moderation_wait_s=s.moderation_wait_ms / 1000)
            self.rooms = RoomRegistry(self.bus, self.presence, self.pipeline,
                                      s.presence_interval_s,
                                      self.write_batch)
            self.watchdog = StallWatchdog(self.rooms.connections, s.stall_timeout_s,
                                          p.CLOSE_SLOW_CONSUMER)
            self.watchdog.start()
        self.ready = True
        log.info("babelcast ready (role %s, auth %s)", self.role, s.auth)
        if self.serves_viewers and s.auth == "none" and not s.admin_key:
            log.warning("--auth none without --admin-key: anyone who can reach this port may "
                        "change glossaries and room settings (fine for a local demo; set "
                        "--admin-key, and --auth jwt for a public stream)")

    async def stop(self) -> None:
        """Close connections, finish or hand back work, disconnect."""
        self.ready = False
        if self.serves_viewers:
            for conn in list(self.rooms.connections()):
                conn.close(p.CLOSE_GOING_AWAY, "server shutting down")
            await self.watchdog.stop()
            await self.pipeline.close()
            await self.rooms.close()
        if self.worker is not None:
            await self.worker.close()  # unfinished jobs stay pending for another translator
        if isinstance(self.translator, RemoteTranslator):
            await self.translator.aclose()
        if self.service is not None:
            self.service.close()
        await self.user_rates.close()
        if self.translate_rates is not None:
            await self.translate_rates.close()
        await self.room_settings.close()
        await self.glossaries.close()
        if self.serves_viewers:
            await self.backend.close()


def create_app(settings: Settings | None = None, *, backend: RoomBackend | None = None,
               engines: Sequence[Engine] | None = None) -> Starlette:
    """Build the Starlette app. ``engines`` replaces the configured engines (tests, embedding);
    ``backend`` the rooms' bus, presence and state the settings would pick."""
    gateway = Gateway(settings or Settings.from_env(), backend=backend, engines=engines)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    async def room_ws(websocket: WebSocket) -> None:
        await run_session(gateway, websocket)

    if gateway.serves_viewers:
        routes = [
            *rest.routes(gateway),
            WebSocketRoute("/v1/rooms/{room}/ws", room_ws),
            Route("/", rest.index),
            Route("/favicon.ico", rest.no_favicon),
            Route("/widget.js", rest.widget_script),
            Route("/host/{room}", rest.host_console),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    else:  # a translator only answers health checks and stats
        routes = rest.translator_routes(gateway)
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers=rest.exception_handlers())
    app.state.gateway = gateway
    return app
