"""``POST /v1/rooms/{room}/messages``: a platform's back end posts into a room (a shop's
announcement, the host's message, a system notice), translated for every viewer like a
comment; an ``Idempotency-Key`` makes a retried call answer as the first did."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.chat.moderation import CommentRefused, RoomCommentGate
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.stores.base import IdempotencyStore, StoreUnavailable
from babelcast.gateway.web.rest.access import AdminAccess
from babelcast.gateway.web.rest.errors import MAX_BODY, ApiError, json_body, lang_param, room_param
from babelcast.gateway.wire.client import InputLimits, validate_name, validate_text
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.server import wire_id

log = logging.getLogger("babelcast.api")

# Who may post, and the display name each gets when the call names none.
ORIGINS = {"shop": "Shop", "host": "Host", "system": "System"}
FIELDS = frozenset({"text", "as", "name", "lang"})
# Printable ASCII without spaces, as the common APIs accept (a UUID fits).
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class MessagesDeps:
    """What the posting route uses."""

    pipeline: CommentPipeline  # the same path as a viewer's comment
    keys: IdempotencyStore  # per room, for a bounded time
    admin: AdminAccess  # posting needs the admin key
    gate: Callable[[str], RoomCommentGate | None]  # the room's gate on this node, if open
    max_text_chars: int
    max_name_chars: int


@dataclass(frozen=True)
class Post:
    """A validated request body."""

    text: str
    origin: str
    name: str
    lang: str | None

    @property
    def user_id(self) -> str:
        return f"{self.origin}:{self.name}"

    def fingerprint(self) -> str:
        """Names the request, so that a key reused for another one is noticed."""
        canon = json.dumps([self.text, self.origin, self.name, self.lang])
        return hashlib.sha256(canon.encode()).hexdigest()


def parse_post(data: Any, max_text_chars: int, max_name_chars: int) -> Post:
    """The body of a post, validated; ``ApiError`` (400) otherwise."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object with 'text' and "
                       "'as'")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        hint = (" (send the idempotency key as the 'Idempotency-Key' header)"
                if "idempotency_key" in unknown else "")
        raise ApiError(400, "invalid_field", f"unknown field {unknown[0][:40]!r}; a post has "
                       f"'text', 'as', 'name' and 'lang'{hint}")
    origin = data.get("as")
    if not isinstance(origin, str) or origin not in ORIGINS:
        raise ApiError(400, "invalid_field", "'as' must be one of 'shop', 'host', 'system'")
    try:
        text = validate_text(data.get("text"), InputLimits(max_text_chars=max_text_chars))
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            raise ApiError(400, "invalid_field", "'name' must be a string")
        name = validate_name(name, max_name_chars, ORIGINS[origin])
    except ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    lang = data.get("lang")
    return Post(text=text, origin=origin, name=name,
                lang=None if lang is None else lang_param(lang, "lang"))


def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, validated; None without one."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _KEY_RE.match(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 "
                       "printable ASCII characters without spaces (a UUID, say)")
    return key


def _answer(body: str, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=201, media_type="application/json", headers=headers)


def routes(deps: MessagesDeps) -> list[BaseRoute]:
    """``POST /v1/rooms/{room}/messages``."""

    async def post_message(request: Request) -> Response:
        """Post a message into a room as the shop, the host or the system.
        ---
        post:
          summary: Post into a room
          description: The message takes a viewer's comment's path (language ID with `lang`
            as the declared language, the room's blocklist, translation into every language
            present) but is never held back by slow mode or the rate cap. Viewers see it with
            `from` set and a badge. With an `Idempotency-Key` header, a retry of the same call
            within a day answers the first call's answer (header `Idempotent-Replayed`) and
            posts nothing.
          operationId: postMessage
          tags: [rooms]
          security:
            - adminKey: []
          parameters:
            - room  # components.parameters
            - name: Idempotency-Key
              in: header
              required: false
              description: any unique string per intended post (a UUID); kept a day per room
              schema: {type: string, pattern: '^[\\x21-\\x7e]{1,255}$'}
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [text, as]
                  properties:
                    text: {$ref: '#/components/schemas/CommentText'}
                    as:
                      type: string
                      enum: [shop, host, system]
                      description: who posts; the frames carry it as `from`
                    name:
                      type: [string, 'null']
                      maxLength: 32
                      description: the display name (default Shop, Host or System); the user
                        id is `<as>:<name>`
                    lang:
                      description: the text's language, declared to language ID (absent or
                        null, detected)
                      oneOf:
                        - {$ref: '#/components/schemas/Lang'}
                        - {type: 'null'}
          responses:
            '201':
              description: posted (or, for a replayed Idempotency-Key, posted before)
              content:
                application/json:
                  schema:
                    type: object
                    required: [id, room, user_id, from, src_lang]
                    properties:
                      id: {type: string, description: the message id}
                      room: {type: string}
                      user_id: {type: string}
                      from: {type: string, enum: [shop, host, system]}
                      src_lang: {type: string, description: the detected language}
                      provisional:
                        type: boolean
                        description: held by its node while Redis is unreachable
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '409': {description: 'a call with this Idempotency-Key is still in flight; retry'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
            '422': {$ref: '#/components/responses/Unprocessable'}
            '503': {description: 'the idempotency keys cannot be reached; nothing was posted'}
        """
        deps.admin.require(request)
        room = room_param(request)
        key = idempotency_key(request)
        post = parse_post(await json_body(request, MAX_BODY), deps.max_text_chars,
                          deps.max_name_chars)
        fingerprint = post.fingerprint()
        if key is not None:
            try:
                held = await deps.keys.claim(room, key, fingerprint)
            except StoreUnavailable as exc:
                raise ApiError(503, "unavailable", str(exc),
                               headers={"Retry-After": "1"}) from None
            if held is not None:
                if held.fingerprint != fingerprint:
                    raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was "
                                   "used for a different post in this room; use a new key")
                if held.answer is None:
                    raise ApiError(409, "idempotency_in_progress", "a call with this "
                                   "Idempotency-Key is still being served; retry in a moment",
                                   headers={"Retry-After": "1"})
                return _answer(held.answer, replayed=True)
        try:
            msg = await deps.pipeline.submit(
                room, post.name, post.user_id, post.lang, post.text, gate=deps.gate(room),
                privileged=True, origin=post.origin)
        except CommentRefused as exc:
            if key is not None:
                await deps.keys.release(room, key)
            raise ApiError(422, exc.code, exc.message.replace("your comment", "the message"),
                           ) from None
        except BaseException:
            if key is not None:
                await deps.keys.release(room, key)
            raise
        out: dict[str, Any] = {"id": wire_id(msg.id), "room": room, "user_id": msg.user_id,
                               "from": post.origin, "src_lang": msg.src_lang}
        if msg.id < 0:
            out["provisional"] = True
        body = json.dumps(out)
        if key is not None:
            try:
                await deps.keys.settle(room, key, fingerprint, body)
            except StoreUnavailable as exc:  # posted: the answer stands; a retry gets a 409
                log.warning("idempotency key of room %r not recorded: %s", room, exc)
        return _answer(body, replayed=False)

    return [Route("/v1/rooms/{room}/messages", post_message, methods=["POST"])]
