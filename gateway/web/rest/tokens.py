"""``POST /v1/tokens``: room tokens issued to a platform's back end (``--auth jwt``)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.web.auth import RoomTokens
from babelcast.gateway.web.rest.access import AdminAccess
from babelcast.gateway.web.rest.errors import MAX_BODY, ApiError, json_body


@dataclass(frozen=True)
class TokensDeps:
    """What the token route uses."""

    tokens: RoomTokens | None  # None: --auth none, where tokens mean nothing
    admin: AdminAccess
    default_ttl_s: int


def routes(deps: TokensDeps) -> list[BaseRoute]:
    """``POST /v1/tokens``."""

    async def issue_token(request: Request) -> Response:
        """Issue a room token.
        ---
        post:
          summary: Issue a room token (--auth jwt)
          operationId: issueToken
          tags: [tokens]
          security:
            - adminKey: []
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [room, user, name]
                  additionalProperties: false
                  properties:
                    room: {$ref: '#/components/schemas/Room'}
                    user: {type: string, description: the platform's user id}
                    name: {type: string, description: the name shown in the chat}
                    role: {type: string, enum: [viewer, host, moderator], default: viewer}
                    ttl_s: {type: integer, minimum: 1, maximum: 604800, description: lifetime in s}
          responses:
            '200':
              description: the token
              content:
                application/json:
                  schema:
                    type: object
                    required: [token, expires_at]
                    properties:
                      token: {type: string}
                      expires_at: {type: integer, description: Unix time}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '409':
              description: this server runs --auth none, where tokens mean nothing
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
        """
        deps.admin.require(request)
        if deps.tokens is None:
            raise ApiError(409, "auth_disabled", "this server runs --auth none, where tokens "
                           "mean nothing; run it with --auth jwt --jwt-secret ...")
        data = await json_body(request, MAX_BODY)
        if not isinstance(data, dict) or set(data) - {"room", "user", "name", "role", "ttl_s"}:
            raise ApiError(400, "invalid_body", 'body must be {"room", "user", "name", "role" '
                           '(viewer, host or moderator), "ttl_s" (optional)}')
        try:
            issued = deps.tokens.issue(data.get("room"), data.get("user"), data.get("name"),
                                       data.get("role", "viewer"),
                                       data.get("ttl_s", deps.default_ttl_s))
        except ValueError as exc:
            raise ApiError(400, "invalid_field", str(exc)) from None
        return JSONResponse({"token": issued.token, "expires_at": issued.expires_at})

    return [Route("/v1/tokens", issue_token, methods=["POST"])]
