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
from babelcast.gateway.webhooks.endpoints import EndpointError, EndpointExists, parse_endpoint

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
        deps.admin.require(request)
        return JSONResponse({"endpoints": [e.to_json() for e in hooks.endpoints()]})

    async def endpoint_create(request: Request) -> Response:
        """The new endpoint, with its secret: the only time the secret is shown."""
        deps.admin.require(request)
        data = await json_body(request, MAX_BODY)
        try:
            endpoint = parse_endpoint(data, make_secret=True)
            hooks.add(endpoint)
        except EndpointExists as exc:
            raise ApiError(409, "endpoint_exists", str(exc)) from None
        except EndpointError as exc:
            raise ApiError(400, "invalid_endpoint", str(exc)) from None
        return JSONResponse({**endpoint.to_json(), "secret": endpoint.secret}, status_code=201)

    async def endpoint_delete(request: Request) -> Response:
        deps.admin.require(request)
        endpoint_id = request.path_params["endpoint_id"]
        if not await hooks.remove(endpoint_id):
            raise ApiError(404, "endpoint_not_found", f"no webhook endpoint {endpoint_id[:64]!r}")
        return Response(status_code=204)

    async def deliveries(request: Request) -> Response:
        deps.admin.require(request)
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
