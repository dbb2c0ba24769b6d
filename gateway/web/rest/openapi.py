"""``GET /openapi.json``: the OpenAPI 3.1 document of the REST API, generated from the routes
the app serves.

Each endpoint carries its own operations in its docstring: YAML after a ``---`` line, keyed by
HTTP method (apispec's ``load_operations_from_docstring``), so a route and its description
change together. This module adds what the operations share (the error shape, the common
error responses, the security schemes) and assembles the document with ``apispec``. The
WebSocket endpoint and the ``/static`` files are not REST operations and are left out
(docs/protocol.md describes the WebSocket)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.langid import ISO_639_1

TITLE = "babelcast"
VERSION = "1"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error response of the API.",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "a stable, machine-readable code",
                     "examples": ["invalid_json", "unauthorized", "room_not_found"]},
            "message": {"type": "string", "description": "what went wrong and what to send"},
        },
    }},
}


LANG_SCHEMA: dict[str, Any] = {
    "type": "string", "enum": sorted(ISO_639_1), "examples": ["en", "pt", "ko"],
    "description": "an ISO 639-1 language code. Also accepted: upper case and a region or "
                   "script subtag, which is dropped (pt-BR is pt)."}

ROOM_SCHEMA: dict[str, Any] = {
    "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "examples": ["live-42"],
    "description": "1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit"}

ROOM_SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["room", "glossary", "languages", "blocklist", "use_default_blocklist",
                 "moderation_lang", "slow_mode_s", "max_comments_per_s", "normalise_chat"],
    "properties": {
        "room": {"type": "string"},
        "glossary": {"type": ["string", "null"]},
        "languages": {"type": "array", "items": {"type": "string"}},
        "blocklist": {"type": "array", "items": {"type": "string"}},
        "use_default_blocklist": {"type": "boolean"},
        "moderation_lang": {"type": "string"},
        "slow_mode_s": {"type": "number"},
        "max_comments_per_s": {"type": "integer"},
        "normalise_chat": {"type": "boolean"},
    },
}

_TERM: dict[str, Any] = {
    "type": "object", "required": ["term"],
    "properties": {
        "term": {"type": "string"},
        "translations": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "the fixed text per target language"},
        "case_sensitive": {"type": "boolean"},
        "whole_word": {"type": "boolean"},
    },
}

GLOSSARY_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "a glossary document (docs/glossary.md); at least one term",
    "properties": {
        "name": {"type": "string", "description": "if given, equal to the path's name"},
        "description": {"type": "string"},
        "case_sensitive": {"type": "boolean", "default": False},
        "whole_word": {"type": "boolean", "default": True},
        "terms": {"type": "array", "items": {"oneOf": [{"type": "string"}, _TERM]}},
        "keep": {"type": "array", "items": {"type": "string"}},
        "mapped": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "string"}}},
    },
}

GLOSSARY_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["name", "version", "fingerprint", "terms"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "integer", "description": "changes whenever the terms change"},
        "fingerprint": {"type": "string"},
        "description": {"type": "string"},
        "terms": {"type": "array", "items": _TERM},
    },
}

# Referenced by the operations as ``$ref: '#/components/schemas/<name>'``.
SCHEMAS: dict[str, dict[str, Any]] = {
    "CommentText": {
        "type": "string", "maxLength": 500, "pattern": "[^\\s\\u0000-\\u001f\\u007f-\\u009f]",
        "description": "at least one character that is not a space or a control character; at "
                       "most --max-text-chars (500 by default)"},
    "WebhookEndpoint": {
        "type": "object", "required": ["id", "url", "events"],
        "properties": {"id": {"type": "string"}, "url": {"type": "string"},
                       "events": {"type": "array", "items": {"type": "string"}},
                       "description": {"type": "string"},
                       "secret": {"type": "string",
                                  "description": "only in the answer that created it"}}},
    "Lang": LANG_SCHEMA, "Room": ROOM_SCHEMA, "RoomSettings": ROOM_SETTINGS_SCHEMA,
    "GlossaryInput": GLOSSARY_INPUT_SCHEMA, "Glossary": GLOSSARY_SCHEMA,
}

# Referenced as ``$ref: '#/components/parameters/<name>'``.
PARAMETERS: dict[str, dict[str, Any]] = {
    "room": {"name": "room", "in": "path", "required": True,
             "schema": {"$ref": "#/components/schemas/Room"}},
    "glossary": {"name": "name", "in": "path", "required": True,
                 "description": "the glossary's name: 1-64 characters of A-Z a-z 0-9 _ . -, "
                                "starting with a letter or digit",
                 "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}},
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


# Referenced by the operations as ``$ref: '#/components/responses/<name>'``.
ERROR_RESPONSES: dict[str, dict[str, Any]] = {
    "BadRequest": _error("the request is invalid: bad JSON, a missing or invalid field"),
    "Unauthorized": _error("a credential is needed, or the one given is not valid"),
    "Forbidden": _error("admin endpoints are disabled (--auth jwt without --admin-key)"),
    "NotFound": _error("no such resource"),
    "MethodNotAllowed": _error("the path does not take this method"),
    "PayloadTooLarge": _error("the body is larger than the endpoint reads"),
    "Unprocessable": _error("well-formed, but names something that does not exist"),
    "TooManyRequests": {**_error("rate limited: retry after the Retry-After seconds"),
                        "headers": {"Retry-After": {"schema": {"type": "integer"},
                                                    "description": "seconds to wait"}}},
}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "adminKey": {"type": "http", "scheme": "bearer",
                 "description": "the admin key (--admin-key, BABELCAST_ADMIN_KEY) of a "
                                "platform's back end: 'Authorization: Bearer <admin_key>'"},
    "roomToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                  "description": "a room token (POST /v1/tokens; --auth jwt)"},
}


def documented_routes(routes: Sequence[BaseRoute]) -> Iterator[Route]:
    """The HTTP routes the document describes: every ``Route`` (not the WebSocket route, nor
    mounted static files)."""
    for route in routes:
        if isinstance(route, Route):
            yield route


def route_methods(route: Route) -> set[str]:
    """The methods of ``route`` as the document names them (HEAD, which Starlette adds to
    every GET, is left out)."""
    return {m.lower() for m in route.methods or ()} - {"head"}


def undocumented(routes: Sequence[BaseRoute]) -> list[str]:
    """``"METHOD path"`` of every served operation that its endpoint's docstring does not
    describe (the tests require none)."""
    missing = []
    for route in documented_routes(routes):
        ops = load_operations_from_docstring(route.endpoint.__doc__ or "")
        missing += [f"{m.upper()} {route.path}" for m in sorted(route_methods(route) - ops.keys())]
    return missing


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``: each operation from its endpoint's docstring,
    and the shared components."""
    spec = APISpec(
        title=TITLE, version=VERSION, openapi_version="3.1.0",
        info={"description": "The REST API of a babelcast gateway: health, rooms, room "
                             "settings, glossaries, translation, room tokens and webhooks. Every "
                             "error "
                             "is {\"error\": {\"code\", \"message\"}}. Viewers chat over the "
                             "WebSocket /v1/rooms/{room}/ws (docs/protocol.md), which OpenAPI "
                             "does not describe.",
              "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}})
    spec.components.schema("Error", ERROR_SCHEMA)
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, response in ERROR_RESPONSES.items():
        spec.components.response(name, response)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for route in documented_routes(routes):
        ops = load_operations_from_docstring(route.endpoint.__doc__ or "")
        served = {m: ops[m] for m in sorted(route_methods(route)) if m in ops}
        if served:
            spec.path(path=route.path, operations=served)
    return spec.to_dict()


def routes() -> list[BaseRoute]:
    """``GET /openapi.json``, built on first request from the routes the app then serves
    (they are all installed before the server takes its first request)."""
    built: list[dict[str, Any]] = []

    async def openapi(request: Request) -> Response:
        """The OpenAPI 3.1 document of this API.
        ---
        get:
          summary: This document
          operationId: openapi
          tags: [meta]
          responses:
            '200':
              description: the OpenAPI 3.1 document of the REST API
              content:
                application/json:
                  schema: {type: object}
        """
        if not built:
            built.append(document(request.app.router.routes))
        return JSONResponse(built[0])

    return [Route("/openapi.json", openapi, methods=["GET"])]
