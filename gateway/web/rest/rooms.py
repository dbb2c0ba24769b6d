"""A room from outside: its counters, its history in any language, and the host console's
insights."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.bus.base import Bus, RoomStats
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.chat.insights import InsightsWindow, summarize_all
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.web.rest.errors import ApiError, lang_param, room_param
from babelcast.gateway.wire.client import validate_since
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.server import comment_frame, needs_translation


@dataclass(frozen=True)
class RoomsDeps:
    """What the room routes use."""

    bus: Bus
    presence: Presence  # viewers per language
    translations: TranslationTracker  # the same translations live viewers get
    insights: InsightsWindow  # the host console's
    history_size: int  # messages a room keeps
    translation_timeout_s: float  # how long history waits for a missing translation


def routes(deps: RoomsDeps) -> list[BaseRoute]:
    """``/v1/rooms/{room}``, its ``/history`` and its ``/insights``."""
    bus, tracker = deps.bus, deps.translations

    async def room_info(request: Request) -> Response:
        room = room_param(request)
        st = await bus.stats(room)
        viewers = await deps.presence.viewers(room)
        if st is None and not viewers:
            raise ApiError(404, "room_not_found", f"room {room!r} has had no viewers or "
                           "messages yet")
        st = st or RoomStats(messages=0, translations=0, last_id=0)
        return JSONResponse({"room": room, "viewers": viewers,
                             "viewers_total": sum(viewers.values()),
                             "messages": st.messages, "translations": st.translations,
                             "last_id": str(st.last_id)})

    async def history(request: Request) -> Response:
        room = room_param(request)
        q = request.query_params
        try:
            since = validate_since(q.get("since"))
        except ProtocolError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        lang = lang_param(q["lang"], "lang") if q.get("lang") else None
        messages, gap = await bus.history(room, since=since)
        out = []
        for msg in messages:
            if lang is None:
                out.append(comment_frame(msg, msg.src_lang))
                continue
            found = None
            # Same tracker as live viewers: one translation per (message, language).
            if tracker.request(msg, lang):
                waiting = tracker.wait_for(msg, lang)
                if waiting is not None:
                    with contextlib.suppress(asyncio.TimeoutError):
                        found = await asyncio.wait_for(waiting, deps.translation_timeout_s)
            pending = found is None and needs_translation(msg, lang)
            out.append(comment_frame(msg, lang, pending, found))
        return JSONResponse({"room": room, "lang": lang, "gap": gap, "messages": out})

    async def insights(request: Request) -> Response:
        # Open like /history, whose data it summarises (auth may restrict both).
        room = room_param(request)
        q = request.query_params
        host_lang = lang_param(q["lang"], "lang") if q.get("lang") else "en"
        messages, _ = await bus.history(room)
        report = summarize_all(deps.insights, room, messages, await deps.presence.viewers(room),
                               deps.history_size, host_lang)
        return JSONResponse(report.to_json())

    return [
        Route("/v1/rooms/{room}", room_info),
        Route("/v1/rooms/{room}/history", history),
        Route("/v1/rooms/{room}/insights", insights),
    ]
