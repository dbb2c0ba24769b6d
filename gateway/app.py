"""The application object: ``Gateway`` owns every part; ``create_app`` wires it to Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from gateway import protocol as p
from gateway import rest
from gateway.bus import Bus, MemoryBus
from gateway.fanout import StallWatchdog
from gateway.glossary_store import GlossaryStore
from gateway.pipeline import CommentPipeline
from gateway.room import RoomRegistry
from gateway.room_settings import RoomSettingsStore
from gateway.session import run_session
from gateway.settings import Settings
from langid import Detector
from translation import EmbeddedEngine, Engine, TranslationService

log = logging.getLogger("babelcast")
STATIC_DIR = Path(__file__).parent / "static"


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
    from translation.config import load_engines_from_config, load_models_config
    from translation.ct2 import CT2Options

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
    """Everything one gateway process runs. Parts are created here and nowhere else."""

    def __init__(self, settings: Settings, *, bus: Bus | None = None,
                 engines: Sequence[Engine] | None = None) -> None:
        self.settings = settings
        self.bus = bus or MemoryBus(settings.history_size)
        self.glossaries = GlossaryStore()
        self.room_settings = RoomSettingsStore()
        self._given_engines = engines
        self.detector: Detector | None = None
        self.translator: TranslationService | None = None
        self.pipeline: CommentPipeline
        self.rooms: RoomRegistry
        self.watchdog: StallWatchdog
        self.ready = False
        # Counters for /v1/stats.
        self.frames_dropped = 0
        self.direct_writes = 0
        self.bad_frames = 0
        self.rate_limited = 0

    async def start(self) -> None:
        """Load models (on a thread) and start the background tasks."""
        s = self.settings
        engines = self._given_engines
        await self.bus.start()
        self.detector = await asyncio.to_thread(Detector)
        if engines is None:
            engines = await asyncio.to_thread(load_engines, s)
        self.translator = TranslationService(
            engines, threads=s.translation_threads, timeout_s=s.translation_timeout_ms / 1000,
            cache_entries=s.cache_entries, max_batch_tokens=s.batch_max_tokens,
            max_wait_ms=s.batch_max_wait_ms, max_queue=s.translation_queue_size,
            priority_langs=s.priority_lang_set)
        self.pipeline = CommentPipeline(self.detector, self.translator, self.bus, self.glossaries,
                                        self.room_settings, wait_s=s.translation_wait_ms / 1000)
        self.rooms = RoomRegistry(self.bus, self.pipeline, s.presence_interval_s)
        self.watchdog = StallWatchdog(self.rooms.connections, s.stall_timeout_s,
                                      p.CLOSE_SLOW_CONSUMER)
        self.watchdog.start()
        self.ready = True
        log.info("babelcast ready: engines %s",
                 ", ".join(e.name for e in engines) or "none (relay only)")

    async def stop(self) -> None:
        """Close connections and stop background work."""
        self.ready = False
        for conn in list(self.rooms.connections()):
            conn.close(p.CLOSE_GOING_AWAY, "server shutting down")
        await self.watchdog.stop()
        await self.pipeline.close()
        await self.rooms.close()
        await self.bus.close()
        if self.translator is not None:
            self.translator.close()


def create_app(settings: Settings | None = None, *, bus: Bus | None = None,
               engines: Sequence[Engine] | None = None) -> Starlette:
    """Build the Starlette app. ``engines`` replaces the configured engines (tests, embedding)."""
    gateway = Gateway(settings or Settings.from_env(), bus=bus, engines=engines)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    async def room_ws(websocket: WebSocket) -> None:
        await run_session(gateway, websocket)

    routes = [
        *rest.routes(gateway),
        WebSocketRoute("/v1/rooms/{room}/ws", room_ws),
        Route("/", rest.index),
        Route("/favicon.ico", rest.no_favicon),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers=rest.exception_handlers())
    app.state.gateway = gateway
    return app
