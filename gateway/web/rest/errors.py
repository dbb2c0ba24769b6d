"""Errors of the REST API, and the request parsing every resource shares.

Every error is rendered as ``{"error": {"code", "message"}}`` with its HTTP status: an
``ApiError`` raised by a route, and Starlette's own ``HTTPException`` (unknown path, wrong
method)."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from babelcast.gateway.wire.client import validate_lang, validate_room
from babelcast.gateway.wire.codec import has_lone_surrogate
from babelcast.gateway.wire.errors import ProtocolError

MAX_BODY = 16_384  # the largest JSON body an endpoint reads (glossaries have their own limit)


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
    """The app's handlers: every error as JSON."""
    return {ApiError: _api_error, HTTPException: _http_error}


async def json_body(request: Request, limit: int) -> Any:
    """The request's JSON body, at most ``limit`` bytes; ``ApiError`` otherwise."""
    body = await request.body()
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"body is {len(body)} bytes; the limit is {limit}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    if b"\\u" in body and has_lone_surrogate(data):
        raise ApiError(400, "invalid_json", "body has an unpaired surrogate escape "
                       "(\\ud800-\\udfff); send valid Unicode")
    return data


def room_param(request: Request) -> str:
    """The ``{room}`` of the path, validated."""
    try:
        return validate_room(request.path_params["room"])
    except ProtocolError as exc:
        raise ApiError(400, exc.code, exc.message) from None


def lang_param(value: Any, field: str) -> str:
    """A language code given as ``field``, validated."""
    try:
        return validate_lang(value)
    except ProtocolError as exc:
        raise ApiError(400, exc.code, f"{field}: {exc.message}") from None
