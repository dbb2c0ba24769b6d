"""The composition root: builds the parts one process runs for its role and hands each only
what it uses (a small deps dataclass per consumer). Nothing imports this module but the CLI
(and the tests)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from babelcast.gateway import backends
from babelcast.gateway.bus.backend import RoomBackend
from babelcast.gateway.chat.insights import InsightsWindow
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.chat.reactions import ReactionAggregator
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.chat.votes import QuestionVotes
from babelcast.gateway.limits.admission import ConnectionAdmission
from babelcast.gateway.limits.base import RateLimiter
from babelcast.gateway.rooms.batch import WriteBatch
from babelcast.gateway.rooms.room import RoomDeps, RoomRegistry
from babelcast.gateway.rooms.watchdog import StallWatchdog
from babelcast.gateway.settings import Settings
from babelcast.gateway.stores.base import GlossaryStore, IdempotencyStore, RoomSettingsStore
from babelcast.gateway.web.app import build_app, websocket_route
from babelcast.gateway.web.auth import RoomTokens
from babelcast.gateway.web.metrics import GatewayMetrics
from babelcast.gateway.web.request_deadline import HANDSHAKE_GUARD_STATE, HandshakeGuard
from babelcast.gateway.web.rest import (
    glossaries,
    health,
    messages,
    openapi,
    pages,
    room_settings,
    rooms,
    tokens,
    webhooks,
)
from babelcast.gateway.web.rest import translate as translate_api
from babelcast.gateway.web.rest.access import AdminAccess, TranslateAccess
from babelcast.gateway.web.session import SessionConfig, SessionCounters, SessionDeps
from babelcast.gateway.web.stats import StatsSnapshot, StatsSources, ViewerSources, take_snapshot
from babelcast.gateway.webhooks.delivery import DeliveryPolicy
from babelcast.gateway.webhooks.dispatcher import WebhookDispatcher
from babelcast.gateway.webhooks.endpoints import load_endpoints
from babelcast.gateway.wire import codes
from babelcast.glossary import load_glossaries
from babelcast.langid import Detector
from babelcast.translation import EmbeddedEngine, Engine, TranslationService, Translator
from babelcast.translation.remote.client import RemoteTranslator
from babelcast.translation.remote.worker import TranslatorWorker

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


class Gateway:
    """Everything one process runs, for its role. Parts are created here and nowhere else.

    - ``all``: connections, rooms and models in one process (a MemoryBus, or Redis when
      ``redis_url`` is set so several such nodes share rooms).
    - ``gateway``: connections and rooms; translation jobs go to translators through Redis.
    - ``translator``: models only; takes jobs from Redis (no WebSocket endpoint).

    What can be built at once is built here; what needs models or Redis is built by
    ``start``, which returns the routes bound to the parts.
    """

    def __init__(self, settings: Settings, *, backend: RoomBackend | None = None,
                 engines: Sequence[Engine] | None = None) -> None:
        self.settings = settings
        self.role = settings.role
        url = settings.redis_url
        self.backend = backend or backends.room_backend(
            url, history_size=settings.history_size, presence_ttl_s=settings.presence_ttl_s)
        self.bus = self.backend.bus
        self.presence = self.backend.presence
        self.room_state = self.backend.state
        self.glossaries: GlossaryStore = backends.glossary_store(url)
        self.room_settings: RoomSettingsStore = backends.room_settings_store(url)
        self.idempotency: IdempotencyStore = backends.idempotency_store(url)
        self._given_engines = engines
        self.insights = InsightsWindow(settings.insights_window_s)  # the host console's
        self.detector: Detector | None = None
        self.translator: Translator | None = None
        self.service: TranslationService | None = None  # local models (roles all, translator)
        self.worker: TranslatorWorker | None = None
        self.tracker: TranslationTracker
        self.reactions: ReactionAggregator
        self.votes: QuestionVotes
        self.pipeline: CommentPipeline
        self.rooms: RoomRegistry
        self.watchdog: StallWatchdog
        self.ready = False
        # Read by our uvicorn HTTP protocol through the app's lifespan state (create_app).
        self.handshake_guard = HandshakeGuard(settings.handshake_timeout_s)
        self._stats_sources = StatsSources(self.role, handshake_guard=self.handshake_guard)
        self.metrics = GatewayMetrics(self.stats)
        self.tokens = RoomTokens(settings.jwt_secret) if settings.auth == "jwt" else None
        self.admission = ConnectionAdmission(
            settings.allowed_origin_list, settings.max_connections_per_ip,
            settings.connect_rate_per_ip, settings.connect_burst_per_ip)
        # Keyed by user, not connection: reconnecting does not refill a user's bucket; with
        # Redis, reconnecting to another node does not either.
        self.user_rates: RateLimiter = backends.rate_limiter(
            url, settings.rate_limit_per_s, settings.rate_limit_burst, name="user")
        # Reactions spend their own buckets: liking fast never costs a user its comments.
        self.reaction_rates: RateLimiter = backends.rate_limiter(
            url, settings.reaction_rate_per_s, settings.reaction_burst, name="reaction")
        # POST /v1/translate spends model time: per client IP, shared like the user buckets.
        self.translate_rates: RateLimiter | None = (
            backends.rate_limiter(url, settings.translate_rate_per_ip,
                                  settings.translate_burst_per_ip, name="translate")
            if settings.translate_rate_per_ip > 0 else None)
        # Joins each viewer's direct-path frames per loop iteration (one send() for several).
        self.write_batch = WriteBatch()
        self.session_counters = SessionCounters()
        # Events for the platform's endpoints, each delivered from its own queue (a comment's
        # event waits for its translations: up to the translation timeout and then some).
        self.webhooks = WebhookDispatcher(
            policy=DeliveryPolicy(
                attempt_timeout_s=settings.webhook_timeout_s,
                first_retry_s=settings.webhook_first_retry_s,
                retry_for_s=settings.webhook_retry_for_s, queue_size=settings.webhook_queue_size),
            translation_wait_s=settings.translation_timeout_ms / 1000 + 1)

    @property
    def serves_viewers(self) -> bool:
        return self.role != "translator"

    def stats(self) -> StatsSnapshot:
        """Every counter of this process now (``/v1/stats`` and ``/metrics``)."""
        return take_snapshot(self._stats_sources)

    async def start(self) -> list[BaseRoute]:
        """Connect to Redis (if used), load models (on a thread), start background tasks, and
        return the routes bound to the parts. Raises ``BusUnavailable``, ``StoreUnavailable``
        or ``RedisUnavailable`` (each naming the URL) when a role that needs Redis cannot
        reach it."""
        s = self.settings
        if self.serves_viewers:
            await self.backend.start()
        await self.glossaries.start()
        await self.room_settings.start()
        await self.idempotency.start()
        if s.glossaries:
            # Validated by the CLI before start-up; a PUT over REST later replaces a file's.
            for g in (await asyncio.to_thread(load_glossaries, [s.glossaries])).values():
                await self.glossaries.put(g.name, json.dumps(g.to_json()).encode())
            log.info("glossaries loaded from %s", s.glossaries)
        if self.serves_viewers:
            # Validated by Settings; read again here in case the file changed since.
            endpoints = (await asyncio.to_thread(load_endpoints, s.webhooks)
                         if s.webhooks else [])
            await self.webhooks.start(endpoints)
            if endpoints:
                log.info("webhooks: %d endpoint(s) from %s", len(endpoints), s.webhooks)
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
            assert self.service is not None
            self.worker = TranslatorWorker(
                self.service, backends.redis_link(s.redis_url), glossaries=self.glossaries,
                concurrency=s.translator_concurrency, claim_timeout_s=s.claim_timeout_ms / 1000,
                heartbeat_s=s.translator_heartbeat_ms / 1000, cache_ttl_s=s.redis_cache_ttl_s)
            await self.worker.start()
        if self.role == "gateway":
            remote = RemoteTranslator(backends.redis_link(s.redis_url),
                                      timeout_s=s.translation_timeout_ms / 1000,
                                      cache_entries=s.cache_entries)
            await remote.start()
            self.translator = remote
        worker = self.worker
        self._stats_sources = StatsSources(
            self.role, translator=self.translator,
            worker_stats=None if worker is None else lambda: worker.stats.to_json(),
            handshake_guard=self.handshake_guard)
        if self.serves_viewers:
            assert self.translator is not None
            self.detector = await asyncio.to_thread(Detector)
            self.tracker = TranslationTracker(
                self.translator, self.bus, self.glossaries, self.room_settings,
                owed_wait_s=s.translation_timeout_ms / 1000 + 2, observer=self.metrics)
            self.pipeline = CommentPipeline(
                self.detector, self.translator, self.bus, self.presence, self.glossaries,
                self.room_settings, self.tracker, wait_s=s.translation_wait_ms / 1000,
                observer=self.metrics, moderation_wait_s=s.moderation_wait_ms / 1000,
                events=self.webhooks)
            self.reactions = ReactionAggregator(self.bus, self.room_settings,
                                                s.reaction_interval_ms / 1000)
            self.reactions.start()
            self.votes = QuestionVotes(self.room_state, self.reactions)
            self.rooms = RoomRegistry(RoomDeps(
                self.bus, self.presence, self.tracker, hold_s=self.pipeline.wait_s,
                presence_interval_s=s.presence_interval_s, write_batch=self.write_batch,
                observer=self.metrics, reaction_interval_s=s.reaction_interval_ms / 1000))
            self.watchdog = StallWatchdog(self.rooms.connections, s.stall_timeout_s,
                                          codes.CLOSE_SLOW_CONSUMER)
            self.watchdog.start()
            self._stats_sources = replace(self._stats_sources, viewers=ViewerSources(
                self.bus, self.rooms, self.watchdog, self.session_counters, self.admission,
                self.pipeline.moderation, self.reactions.stats))
        self.ready = True
        log.info("babelcast ready (role %s, auth %s)", self.role, s.auth)
        if self.serves_viewers and s.auth == "none" and not s.admin_key:
            log.warning("--auth none without --admin-key: anyone who can reach this port may "
                        "change glossaries and room settings (fine for a local demo; set "
                        "--admin-key, and --auth jwt for a public stream)")
        return self.routes()

    def routes(self) -> list[BaseRoute]:
        """The routes of this role, each bound to the parts it uses (call once started)."""
        s = self.settings
        bus = self.bus if self.serves_viewers else None
        out = health.routes(health.HealthDeps(
            role=self.role, ready=lambda: self.ready, translator=self.translator,
            degraded=None if bus is None else lambda: bus.degraded, stats=self.stats,
            metrics=self.metrics.render))
        out += openapi.routes()  # describes the routes the app serves, whatever they are
        if not self.serves_viewers:  # a translator only answers health checks and stats
            return out
        assert self.translator is not None
        admin = AdminAccess(s.admin_key, s.auth)
        out += [
            *tokens.routes(tokens.TokensDeps(self.tokens, admin, s.token_ttl_s)),
            *rooms.routes(rooms.RoomsDeps(
                self.bus, self.presence, self.tracker, self.insights, s.history_size,
                translation_timeout_s=s.translation_timeout_ms / 1000)),
            *translate_api.routes(translate_api.TranslateDeps(
                self.translator, self.pipeline.detect, self.glossaries,
                TranslateAccess(admin, self.tokens, self.translate_rates), s.max_text_chars)),
            *glossaries.routes(glossaries.GlossariesDeps(self.glossaries, admin)),
            *room_settings.routes(room_settings.RoomSettingsDeps(
                self.room_settings, self.glossaries, admin)),
            websocket_route(SessionDeps(
                SessionConfig(
                    max_text_chars=s.max_text_chars, max_frame_bytes=s.max_frame_bytes,
                    max_name_chars=s.max_name_chars, send_queue_frames=s.send_queue_frames,
                    welcome_history=s.welcome_history, rate_limit_per_s=s.rate_limit_per_s,
                    rate_limit_burst=s.rate_limit_burst,
                    rate_limit_strikes=s.rate_limit_strikes, host_key=s.host_key,
                    reaction_rate_per_s=s.reaction_rate_per_s, reaction_burst=s.reaction_burst),
                self.bus, self.presence, self.room_state, self.rooms, self.pipeline,
                self.tracker, self.admission, self.user_rates, self.tokens, self.write_batch,
                self.session_counters, self.reactions, self.reaction_rates,
                events=self.webhooks, votes=self.votes)),
            *messages.routes(messages.MessagesDeps(
                self.pipeline, self.idempotency, admin, self.rooms.comment_gate,
                s.max_text_chars, s.max_name_chars)),
            *webhooks.routes(webhooks.WebhooksDeps(self.webhooks, admin)),
            *pages.routes(),
        ]
        return out

    async def stop(self) -> None:
        """Close connections, finish or hand back work, disconnect."""
        self.ready = False
        self._stats_sources = replace(self._stats_sources, viewers=None)
        if self.serves_viewers:
            for conn in list(self.rooms.connections()):
                conn.close(codes.CLOSE_GOING_AWAY, "server shutting down")
            await self.watchdog.stop()
            await self.reactions.close()
            await self.pipeline.close()
            await self.tracker.close()
            await self.rooms.close()
            await self.webhooks.close()
        if self.worker is not None:
            await self.worker.close()  # unfinished jobs stay pending for another translator
        if self.translator is not None:
            await self.translator.aclose()  # the local service, or the remote client
        await self.user_rates.close()
        await self.reaction_rates.close()
        if self.translate_rates is not None:
            await self.translate_rates.close()
        await self.room_settings.close()
        await self.idempotency.close()
        await self.glossaries.close()
        if self.serves_viewers:
            await self.backend.close()


def create_app(settings: Settings | None = None, *, backend: RoomBackend | None = None,
               engines: Sequence[Engine] | None = None) -> Starlette:
    """Build the Starlette app. ``engines`` replaces the configured engines (tests, embedding);
    ``backend`` the rooms' bus, presence and state the settings would pick."""
    gateway = Gateway(settings or Settings.from_env(), backend=backend, engines=engines)
    app = build_app(gateway.start, gateway.stop,
                    state={HANDSHAKE_GUARD_STATE: gateway.handshake_guard})
    app.state.gateway = gateway  # for the tests, which look inside
    return app
