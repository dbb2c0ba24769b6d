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
        """A room's viewers per language and its counters.
        ---
        get:
          summary: A room's viewers and counters
          operationId: getRoom
          tags: [rooms]
          parameters:
            - room  # components.parameters
          responses:
            '200':
              description: the room
              content:
                application/json:
                  schema:
                    type: object
                    required: [room, viewers, viewers_total, messages, translations, last_id]
                    properties:
                      room: {type: string}
                      viewers:
                        type: object
                        description: viewers per language
                        additionalProperties: {type: integer}
                      viewers_total: {type: integer}
                      messages: {type: integer}
                      translations: {type: integer}
                      last_id: {type: string, description: the last message id}
            '400': {$ref: '#/components/responses/BadRequest'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
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
        """A room's recent messages, in one language or as written.
        ---
        get:
          summary: A room's history
          operationId: getRoomHistory
          tags: [rooms]
          parameters:
            - room  # components.parameters
            - name: since
              in: query
              description: the last message id seen; only later messages are returned
              schema: {type: string, pattern: '^[0-9]{0,18}$'}
            - name: lang
              in: query
              description: translate into this ISO 639-1 language; absent or empty, as written
              schema:
                anyOf:
                  - {$ref: '#/components/schemas/Lang'}
                  - {const: ''}
          responses:
            '200':
              description: the messages, as the WebSocket's comment frames (docs/protocol.md)
              content:
                application/json:
                  schema:
                    type: object
                    required: [room, lang, gap, messages]
                    properties:
                      room: {type: string}
                      lang: {type: [string, 'null']}
                      gap: {type: boolean, description: messages after since were dropped}
                      messages: {type: array, items: {type: object}}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
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
        """The host console's summary of a room.
        ---
        get:
          summary: A room at a glance (the host console's insights)
          operationId: getRoomInsights
          tags: [rooms]
          parameters:
            - room  # components.parameters
            - name: lang
              in: query
              description: the host's language; absent or empty, en
              schema:
                anyOf:
                  - {$ref: '#/components/schemas/Lang'}
                  - {const: ''}
          responses:
            '200':
              description: the insights (docs/console.md)
              content:
                application/json:
                  schema: {type: object}
            '400': {$ref: '#/components/responses/BadRequest'}
        """
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
