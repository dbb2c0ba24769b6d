"""REST endpoints: health, readiness, room info, history, and translation for bots."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.chat.insights import summarize_all
from babelcast.gateway.chat.room_settings import (
    MODERATION_FIELDS,
    TRANSLATION_FIELDS,
    moderation_changes,
    translation_changes,
)
from babelcast.gateway.web.auth import TokenError
from babelcast.gateway.web.metrics import CONTENT_TYPE
from babelcast.gateway.wire import protocol as p
from babelcast.gateway.wire.frames import comment_frame, needs_translation
from babelcast.glossary import MAX_JSON_BYTES, GlossaryError, glossary_hits

if TYPE_CHECKING:
    from babelcast.gateway.node import Gateway

STATIC_DIR = Path(__file__).parent / "static"
MAX_TRANSLATE_BODY = 16_384
MAX_TARGETS = 16


class ApiError(Exception):
    """A request that cannot be served; rendered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error(exc.status, exc.code, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _error(exc.status_code, code, str(exc.detail))


def exception_handlers() -> dict[Any, Any]:
    return {ApiError: _api_error, HTTPException: _http_error}


async def index(request: Request) -> Response:
    """The demo page."""
    return FileResponse(STATIC_DIR / "index.html")


async def _json_body(request: Request, limit: int) -> Any:
    body = await request.body()
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"body is {len(body)} bytes; the limit is {limit}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    if b"\\u" in body and p.has_lone_surrogate(data):
        raise ApiError(400, "invalid_json", "body has an unpaired surrogate escape "
                       "(\\ud800-\\udfff); send valid Unicode")
    return data


async def widget_script(request: Request) -> Response:
    """The embeddable chat widget: one script tag and a <babelcast-chat> element."""
    path = STATIC_DIR / "widget.js"
    if not path.exists():
        raise ApiError(404, "not_found", "this build has no widget")
    return FileResponse(path, media_type="application/javascript")


async def host_console(request: Request) -> Response:
    """The host console of a room (/host/{room}); it reads room, credential and language from
    its own URL."""
    _room_param(request)
    return FileResponse(STATIC_DIR / "host.html")


async def no_favicon(request: Request) -> Response:
    """No icon, and no 404 in every browser console."""
    return Response(status_code=204)


def _room_param(request: Request) -> str:
    try:
        return p.validate_room(request.path_params["room"])
    except p.ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None


def _lang(value: Any, field: str) -> str:
    try:
        return p.validate_lang(value)
    except p.ProtocolError as exc:
        raise ApiError(400, exc.code, f"{field}: {exc.message}") from None


def require_admin(gw: Gateway, request: Request) -> None:
    """Admin endpoints need ``Authorization: Bearer <admin_key>``. Without a configured key
    they are open under ``--auth none`` (the demo; start-up logs a warning) and closed under
    ``--auth jwt``."""
    s = gw.settings
    if not s.admin_key:
        if s.auth == "none":
            return
        raise ApiError(403, "admin_disabled", "admin endpoints are disabled: this server runs "
                       "--auth jwt without an admin key; set --admin-key (BABELCAST_ADMIN_KEY)")
    if not _has_admin_key(gw, request):
        raise ApiError(401, "unauthorized", "this endpoint needs the admin key: send "
                       "'Authorization: Bearer <admin_key>'")


def _bearer(request: Request) -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, if there is one."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def _has_admin_key(gw: Gateway, request: Request) -> bool:
    key, given = gw.settings.admin_key, _bearer(request)
    return bool(key) and given is not None and hmac.compare_digest(given.encode(),
                                                                   key.encode())


async def check_translate_access(gw: Gateway, request: Request) -> None:
    """``POST /v1/translate`` spends model time. The admin key (a platform's backend) passes
    unlimited. Otherwise, with ``--auth jwt``, a valid room token of any room is needed
    (``Authorization: Bearer``; 401 without), and every caller is limited per client IP
    (``translate_rate_per_ip``; 429 with ``Retry-After``)."""
    if _has_admin_key(gw, request):
        return
    if gw.tokens is not None:
        given = _bearer(request)
        if given is None:
            raise ApiError(401, "unauthorized", "this server runs --auth jwt: send "
                           "'Authorization: Bearer <room token>' (or the admin key)")
        try:
            gw.tokens.verify(given, None)
        except TokenError as exc:
            raise ApiError(401, exc.problem.value, exc.message) from None
    limiter = gw.translate_rates
    ip = request.client.host if request.client else "unknown"
    if limiter is not None and not await limiter.take(("ip", ip)):
        retry_s = max(1, math.ceil(1 / limiter.rate))
        raise ApiError(429, "rate_limited", f"too many translation requests from your "
                       f"address: at most {limiter.rate:g}/s (bursts of {limiter.burst}); "
                       f"retry in {retry_s} s", headers={"Retry-After": str(retry_s)})


def _health_routes(gw: Gateway) -> list[BaseRoute]:
    """Health, readiness and counters: every role serves these."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "role": gw.role})

    async def readyz(request: Request) -> Response:
        if not gw.ready or gw.translator is None:
            return JSONResponse({"ready": False, "role": gw.role,
                                 "reason": "starting: connecting and loading models"},
                                status_code=503)
        if gw.serves_viewers and gw.bus.degraded:
            # Connected viewers are still served; a load balancer should send new ones
            # elsewhere until Redis is back.
            return JSONResponse({"ready": False, "role": gw.role, "degraded": True,
                                 "reason": "Redis unreachable: serving connected viewers, "
                                           "retrying"}, status_code=503)
        return JSONResponse({"ready": True, "role": gw.role,
                             "engines": [e.name for e in gw.translator.engines]})

    async def stats(request: Request) -> Response:
        out: dict[str, Any] = {"role": gw.role}
        if gw.ready and gw.serves_viewers:
            totals = gw.fanout_totals()
            out.update({
                "degraded": gw.bus.degraded,
                "rooms": len(gw.rooms.rooms),
                "connections": totals.connections,
                "frames_dropped": totals.frames_dropped,
                "frames_direct": totals.frames_direct,
                "frames_joined": totals.frames_joined,
                "slow_consumers_closed": gw.watchdog.closed_count,
                "bad_frames": gw.bad_frames,
                "rate_limited": gw.rate_limited,
                "handshakes_refused": gw.admission.refused,
                "moderation": gw.pipeline.moderation.to_json(),
            })
        out["translation"] = gw.translator.snapshot() if gw.translator is not None else None
        if gw.worker is not None:
            out["translator_worker"] = gw.worker.stats.to_json()
        return JSONResponse(out)

    async def metrics(request: Request) -> Response:
        return Response(gw.metrics.render(), media_type=CONTENT_TYPE)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/v1/stats", stats),
            Route("/metrics", metrics)]


def translator_routes(gw: Gateway) -> list[BaseRoute]:
    """The routes of a translator-role process."""
    return _health_routes(gw)


def routes(gw: Gateway) -> list[BaseRoute]:
    """The REST routes of a process that serves viewers, bound to ``gw``."""

    async def room_info(request: Request) -> Response:
        room = _room_param(request)
        st = await gw.bus.stats(room)
        if st is None:
            raise ApiError(404, "room_not_found", f"room {room!r} has had no viewers or "
                           "messages yet")
        return JSONResponse({"room": room, "viewers": st.viewers,
                             "viewers_total": sum(st.viewers.values()),
                             "messages": st.messages, "translations": st.translations,
                             "last_id": str(st.last_id)})

    async def history(request: Request) -> Response:
        room = _room_param(request)
        q = request.query_params
        try:
            since = p.validate_since(q.get("since"))
        except p.ProtocolError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        lang = _lang(q["lang"], "lang") if q.get("lang") else None
        messages, gap = await gw.bus.history(room, since=since)
        out = []
        for msg in messages:
            if lang is None:
                out.append(comment_frame(msg, msg.src_lang))
                continue
            found = None
            # Same pipeline as live viewers: one translation per (message, language).
            if gw.pipeline.request(msg, lang):
                waiting = gw.pipeline.wait_for(msg, lang)
                if waiting is not None:
                    with contextlib.suppress(asyncio.TimeoutError):
                        found = await asyncio.wait_for(
                            waiting, gw.settings.translation_timeout_ms / 1000)
            pending = found is None and needs_translation(msg, lang)
            out.append(comment_frame(msg, lang, pending, found))
        return JSONResponse({"room": room, "lang": lang, "gap": gap, "messages": out})

    async def insights(request: Request) -> Response:
        # Open like /history, whose data it summarises (#7; auth may restrict both).
        room = _room_param(request)
        q = request.query_params
        host_lang = _lang(q["lang"], "lang") if q.get("lang") else "en"
        messages, _ = await gw.bus.history(room)
        report = summarize_all(gw.insights, room, messages, await gw.bus.viewers(room),
                               gw.settings.history_size, host_lang)
        return JSONResponse(report.to_json())

    async def translate(request: Request) -> Response:
        await check_translate_access(gw, request)
        data = await _json_body(request, MAX_TRANSLATE_BODY)
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_body", 'body must be an object: {"text": ..., '
                           '"targets": [...], "source": optional}')
        limits = p.InputLimits(max_text_chars=gw.settings.max_text_chars)
        try:
            text = p.validate_text(data.get("text"), limits)
        except p.ProtocolError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        targets = data.get("targets")
        if (not isinstance(targets, list) or not targets or len(targets) > MAX_TARGETS):
            raise ApiError(400, "invalid_targets", f"'targets' must be a list of 1 to "
                           f"{MAX_TARGETS} language codes")
        langs = [_lang(t, "targets") for t in targets]
        glossary = None
        if data.get("glossary") is not None:
            glossary = await gw.glossaries.get(str(data["glossary"]))
            if glossary is None:
                raise ApiError(422, "glossary_not_found",
                               f"no glossary named {str(data['glossary'])[:64]!r}")
        detection = None
        if data.get("source") is not None:
            src = _lang(data["source"], "source")
        else:
            detection = gw.pipeline.detect(text, None)
            src = detection.lang
        result: dict[str, Any] = {}
        for lang in dict.fromkeys(langs):
            if lang == src or src == "und":
                result[lang] = {"text": text, "translated": False,
                                "reason": None if lang == src else "undetermined"}
        todo = [lang for lang in dict.fromkeys(langs) if lang not in result]
        assert gw.translator is not None
        done = await gw.translator.translate(text, src, todo, glossary)
        for lang, t in done.items():
            result[lang] = {"text": t.text, "translated": t.translated, "reason": t.reason}
            if data.get("debug") is True:  # what the chat stage rewrote, for debugging
                result[lang]["rewrites"] = [r.to_json() for r in t.rewrites]
        payload: dict[str, Any] = {"source": src, "translations": result,
                                   "glossary_hits": list(glossary_hits(text, glossary))}
        if detection is not None:
            payload["detection"] = {"lang": detection.lang, "confidence": detection.confidence,
                                    "reason": detection.reason}
        return JSONResponse(payload)

    async def glossary_put(request: Request) -> Response:
        require_admin(gw, request)
        name = request.path_params["name"]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_JSON_BYTES:
            raise ApiError(413, "body_too_large", f"a glossary is at most {MAX_JSON_BYTES} bytes")
        body = await request.body()
        try:
            stored, created = await gw.glossaries.put(name, body)
        except GlossaryError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        return JSONResponse(stored.to_json(), status_code=201 if created else 200)

    async def glossary_get(request: Request) -> Response:
        name = request.path_params["name"]
        found = await gw.glossaries.get(name)
        if found is None:
            raise ApiError(404, "glossary_not_found", f"no glossary named {name[:64]!r}")
        return JSONResponse(found.to_json())

    async def glossary_delete(request: Request) -> Response:
        require_admin(gw, request)
        name = request.path_params["name"]
        if not await gw.glossaries.delete(name):
            raise ApiError(404, "glossary_not_found", f"no glossary named {name[:64]!r}")
        return Response(status_code=204)

    async def glossary_list(request: Request) -> Response:
        return JSONResponse({"glossaries": [
            {"name": g.name, "version": g.version, "terms": len(g.all_terms)}
            for g in await gw.glossaries.names()]})

    async def room_settings(request: Request) -> Response:
        room = _room_param(request)
        current = await gw.room_settings.get(room)
        if request.method == "PUT":
            require_admin(gw, request)
            data = await _json_body(request, MAX_TRANSLATE_BODY)
            if (not isinstance(data, dict) or not data
                    or set(data) - {"glossary", "languages", *MODERATION_FIELDS,
                                    *TRANSLATION_FIELDS}):
                raise ApiError(400, "invalid_body", 'room settings are {"glossary": name or '
                               'null, "languages": [ISO 639-1 codes], "normalise_chat": true '
                               'or false, and the moderation fields '
                               f'{", ".join(MODERATION_FIELDS)}}} (any of them; see '
                               'docs/moderation.md)')
            try:
                changes: dict[str, Any] = {**moderation_changes(data),
                                           **translation_changes(data)}
            except ValueError as exc:
                raise ApiError(400, "invalid_field", str(exc)) from None
            if "glossary" in data:
                name = data["glossary"]
                if name is not None and not isinstance(name, str):
                    raise ApiError(400, "invalid_field", "'glossary' must be a name or null")
                if name is not None and await gw.glossaries.get(name) is None:
                    raise ApiError(422, "glossary_not_found", f"no glossary named "
                                   f"{name[:64]!r}; PUT /v1/glossaries/{{name}} first")
                changes["glossary"] = name
            if "languages" in data:
                langs = data["languages"]
                if not isinstance(langs, list) or len(langs) > 32:
                    raise ApiError(400, "invalid_field", "'languages' must be a list of at "
                                   "most 32 language codes ([] for any language)")
                changes["languages"] = tuple(dict.fromkeys(_lang(v, "languages")
                                                           for v in langs))
            current = replace(current, **changes)
            await gw.room_settings.put(room, current)
        return JSONResponse({"room": room, **current.to_json()})

    async def issue_token(request: Request) -> Response:
        require_admin(gw, request)
        if gw.tokens is None:
            raise ApiError(409, "auth_disabled", "this server runs --auth none, where tokens "
                           "mean nothing; run it with --auth jwt --jwt-secret ...")
        data = await _json_body(request, MAX_TRANSLATE_BODY)
        if not isinstance(data, dict) or set(data) - {"room", "user", "name", "role", "ttl_s"}:
            raise ApiError(400, "invalid_body", 'body must be {"room", "user", "name", "role" '
                           '(viewer, host or moderator), "ttl_s" (optional)}')
        try:
            issued = gw.tokens.issue(data.get("room"), data.get("user"), data.get("name"),
                                     data.get("role", "viewer"),
                                     data.get("ttl_s", gw.settings.token_ttl_s))
        except ValueError as exc:
            raise ApiError(400, "invalid_field", str(exc)) from None
        return JSONResponse({"token": issued.token, "expires_at": issued.expires_at})

    return [
        *_health_routes(gw),
        Route("/v1/tokens", issue_token, methods=["POST"]),
        Route("/v1/rooms/{room}", room_info),
        Route("/v1/rooms/{room}/history", history),
        Route("/v1/rooms/{room}/insights", insights),
        Route("/v1/translate", translate, methods=["POST"]),
        Route("/v1/glossaries", glossary_list),
        Route("/v1/glossaries/{name}", glossary_get, methods=["GET"]),
        Route("/v1/glossaries/{name}", glossary_put, methods=["PUT"]),
        Route("/v1/glossaries/{name}", glossary_delete, methods=["DELETE"]),
        Route("/v1/rooms/{room}/settings", room_settings, methods=["GET", "PUT"]),
    ]
