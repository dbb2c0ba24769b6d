"""``/v1/webhooks``: the endpoints events are delivered to, and the recent deliveries and
failures (docs/webhooks.md). Every route needs the admin key."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.web.rest.access import AdminAccess
from babelcast.gateway.web.rest.errors import MAX_BODY, ApiError, json_body
from babelcast.gateway.webhooks.dispatcher import WebhookDispatcher
from babelcast.gateway.webhooks.endpoints import (
    EndpointError,
    EndpointExists,
    EndpointShapeError,
    parse_endpoint,
)

MAX_LIMIT = 500


@dataclass(frozen=True)
class WebhooksDeps:
    """What the webhook routes use."""

    webhooks: WebhookDispatcher
    admin: AdminAccess


def routes(deps: WebhooksDeps) -> list[BaseRoute]:
    """List, create and delete endpoints; show deliveries."""
    hooks = deps.webhooks

    async def endpoint_list(request: Request) -> Response:
        """The endpoints events are delivered to (secrets are never listed).
        ---
        get:
          summary: Webhook endpoints
          operationId: listWebhooks
          tags: [webhooks]
          security:
            - adminKey: []
          responses:
            '200':
              description: every endpoint, without its secret
              content:
                application/json:
                  schema:
                    type: object
                    required: [endpoints]
                    properties:
                      endpoints:
                        type: array
                        items: {$ref: '#/components/schemas/WebhookEndpoint'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
        """
        deps.admin.require(request)
        return JSONResponse({"endpoints": [e.to_json() for e in hooks.endpoints()]})

    async def endpoint_create(request: Request) -> Response:
        """The new endpoint, with its secret: the only time the secret is shown.
        ---
        post:
          summary: Add a webhook endpoint
          description: Events of the listed types (all when "events" is left out) are
            delivered to "url", signed as the Standard Webhooks specification says
            (docs/webhooks.md). Without "secret" one is made and returned once.
          operationId: createWebhook
          tags: [webhooks]
          security:
            - adminKey: []
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [url]
                  additionalProperties: false
                  properties:
                    url: {type: string, minLength: 1, maxLength: 2048}
                    secret: {type: string, description: "whsec_ and 24-64 base64 bytes"}
                    events:
                      type: array
                      minItems: 1
                      items: {type: string, enum: [comment.published, question.asked,
                                                   comment.blocked, comment.deleted,
                                                   user.muted]}
                    id: {type: string, pattern: '^[A-Za-z0-9_-]{1,64}$'}
                    description: {type: string, maxLength: 200}
          responses:
            '201':
              description: the endpoint, with its secret
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WebhookEndpoint'}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '409':
              description: an endpoint with this id exists already
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Error'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
            '422': {$ref: '#/components/responses/Unprocessable'}
        """
        deps.admin.require(request)
        data = await json_body(request, MAX_BODY)
        try:
            endpoint = parse_endpoint(data, make_secret=True)
            hooks.add(endpoint)
        except EndpointExists as exc:
            raise ApiError(409, "endpoint_exists", str(exc)) from None
        except EndpointShapeError as exc:
            raise ApiError(400, "invalid_endpoint", str(exc)) from None
        except EndpointError as exc:  # well-formed, but no usable endpoint (no host, ...)
            raise ApiError(422, "invalid_endpoint", str(exc)) from None
        return JSONResponse({**endpoint.to_json(), "secret": endpoint.secret}, status_code=201)

    async def endpoint_delete(request: Request) -> Response:
        """Remove an endpoint: nothing more is delivered to it.
        ---
        delete:
          summary: Remove a webhook endpoint
          operationId: deleteWebhook
          tags: [webhooks]
          security:
            - adminKey: []
          parameters:
            - {name: endpoint_id, in: path, required: true, schema: {type: string}}
          responses:
            '204': {description: removed}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        deps.admin.require(request)
        endpoint_id = request.path_params["endpoint_id"]
        if not await hooks.remove(endpoint_id):
            raise ApiError(404, "endpoint_not_found", f"no webhook endpoint {endpoint_id[:64]!r}")
        return Response(status_code=204)

    async def deliveries(request: Request) -> Response:
        """Recent deliveries and failures, newest first, and the dead letters.
        ---
        get:
          summary: Recent webhook deliveries
          operationId: listWebhookDeliveries
          tags: [webhooks]
          security:
            - adminKey: []
          parameters:
            - {name: endpoint, in: query, required: false, schema: {type: string},
               description: only this endpoint's}
            - {name: limit, in: query, required: false,
               schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            '200':
              description: deliveries (attempts, status, error) and dead letters
              content:
                application/json:
                  schema: {type: object}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        deps.admin.require(request)
        unknown = sorted(set(request.query_params) - {"endpoint", "limit"})
        if unknown:
            raise ApiError(400, "invalid_query", f"unknown query parameter {unknown[0][:40]!r}; "
                           "this endpoint takes endpoint and limit")
        endpoint_id = request.query_params.get("endpoint")
        if endpoint_id is not None and endpoint_id not in hooks.workers:
            raise ApiError(404, "endpoint_not_found", f"no webhook endpoint {endpoint_id[:64]!r}")
        raw = request.query_params.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, "invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
        return JSONResponse(hooks.deliveries_json(endpoint_id, int(raw)))

    return [
        Route("/v1/webhooks", endpoint_list, methods=["GET"]),
        Route("/v1/webhooks", endpoint_create, methods=["POST"]),
        Route("/v1/webhooks/deliveries", deliveries, methods=["GET"]),
        Route("/v1/webhooks/{endpoint_id}", endpoint_delete, methods=["DELETE"]),
    ]
