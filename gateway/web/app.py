"""The Starlette application, built from the parts it is given: the lifespan hooks that start
and stop the process, and the routes, which exist once the parts behind them do.

Many parts need models (loaded on a thread) or Redis before they can be built, so ``start``
builds them and returns the routes bound to them; they are installed before the server takes
its first request (uvicorn serves nothing until the lifespan's start-up has finished)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from babelcast.gateway.web.rest.errors import exception_handlers
from babelcast.gateway.web.session import SessionDeps, run_session

WEBSOCKET_PATH = "/v1/rooms/{room}/ws"


def build_app(start: Callable[[], Awaitable[Sequence[BaseRoute]]],
              stop: Callable[[], Awaitable[None]],
              state: Mapping[str, object] | None = None) -> Starlette:
    """An app that runs ``start`` at start-up and serves the routes it returns, and runs
    ``stop`` at shutdown. Every error is rendered as ``{"error": {"code", "message"}}``.
    ``state`` is the lifespan state: what uvicorn hands its protocol objects (the request
    deadline of ``request_deadline``)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        app.router.routes.extend(await start())
        try:
            yield dict(state or {})
        finally:
            await stop()

    return Starlette(routes=[], lifespan=lifespan, exception_handlers=exception_handlers())


def websocket_route(deps: SessionDeps) -> BaseRoute:
    """The viewers' WebSocket endpoint: one ``ViewerSession`` per connection."""

    async def room_ws(websocket: WebSocket) -> None:
        await run_session(deps, websocket)

    return WebSocketRoute(WEBSOCKET_PATH, room_ws)
