"""The pages a browser loads: the demo page, the embeddable widget, the host console, and the
static files they use."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from babelcast.gateway.web.rest.errors import ApiError, room_param

STATIC_DIR = Path(__file__).parent.parent / "static"


async def index(request: Request) -> Response:
    """The demo page.
    ---
    get:
      summary: The demo page
      operationId: index
      tags: [pages]
      responses:
        '200':
          description: an HTML page
          content:
            text/html:
              schema: {type: string}
    """
    return FileResponse(STATIC_DIR / "index.html")


async def widget_script(request: Request) -> Response:
    """The embeddable chat widget: one script tag and a <babelcast-chat> element.
    ---
    get:
      summary: The embeddable chat widget
      operationId: widget
      tags: [pages]
      responses:
        '200':
          description: the widget's script (docs/widget.md)
          content:
            application/javascript:
              schema: {type: string}
        '404': {$ref: '#/components/responses/NotFound'}
    """
    path = STATIC_DIR / "widget.js"
    if not path.exists():
        raise ApiError(404, "not_found", "this build has no widget")
    return FileResponse(path, media_type="application/javascript")


async def host_console(request: Request) -> Response:
    """The host console of a room (/host/{room}); it reads room, credential and language from
    its own URL.
    ---
    get:
      summary: The host console of a room
      operationId: hostConsole
      tags: [pages]
      parameters:
        - room  # components.parameters
      responses:
        '200':
          description: an HTML page (docs/console.md)
          content:
            text/html:
              schema: {type: string}
        '400': {$ref: '#/components/responses/BadRequest'}
    """
    room_param(request)
    return FileResponse(STATIC_DIR / "host.html")


async def no_favicon(request: Request) -> Response:
    """No icon, and no 404 in every browser console.
    ---
    get:
      summary: No icon
      operationId: favicon
      tags: [pages]
      responses:
        '204':
          description: no content
    """
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    """The pages' routes (they need nothing of the process but the files)."""
    return [
        Route("/", index),
        Route("/favicon.ico", no_favicon),
        Route("/widget.js", widget_script),
        Route("/host/{room}", host_console),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
