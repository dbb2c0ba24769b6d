"""Health, readiness and counters: every role serves these."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.web.metrics import CONTENT_TYPE
from babelcast.gateway.web.stats import StatsSnapshot
from babelcast.translation import Translator


@dataclass(frozen=True)
class HealthDeps:
    """What the health routes read."""

    role: str
    ready: Callable[[], bool]  # started and not stopping
    translator: Translator | None  # None until loaded (readiness lists its engines)
    degraded: Callable[[], bool] | None  # the shared bus is failing; None: no bus (translator)
    stats: Callable[[], StatsSnapshot]
    metrics: Callable[[], bytes]  # the Prometheus exposition text


def routes(deps: HealthDeps) -> list[BaseRoute]:
    """``/healthz``, ``/readyz``, ``/v1/stats`` and ``/metrics``."""
    role = deps.role

    async def healthz(request: Request) -> Response:
        """Liveness: the process answers.
        ---
        get:
          summary: Liveness
          operationId: healthz
          tags: [health]
          responses:
            '200':
              description: the process is up
              content:
                application/json:
                  schema:
                    type: object
                    required: [status, role]
                    properties:
                      status: {const: ok}
                      role: {type: string, enum: [all, gateway, translator]}
        """
        return JSONResponse({"status": "ok", "role": role})

    async def readyz(request: Request) -> Response:
        """Readiness: started, models loaded, the shared bus reachable.
        ---
        get:
          summary: Readiness
          operationId: readyz
          tags: [health]
          responses:
            '200':
              description: ready; the translation engines loaded
              content:
                application/json:
                  schema:
                    type: object
                    required: [ready, role, engines, pid]
                    properties:
                      ready: {const: true}
                      role: {type: string}
                      pid:
                        type: integer
                        description: this process's id (which worker of --workers answered)
                      engines: {type: array, items: {type: string}}
            '503':
              description: starting, stopping, or Redis unreachable (degraded)
              content:
                application/json:
                  schema:
                    type: object
                    required: [ready, role, reason, pid]
                    properties:
                      ready: {const: false}
                      role: {type: string}
                      pid: {type: integer}
                      degraded: {type: boolean}
                      reason: {type: string}
        """
        if not deps.ready() or deps.translator is None:
            return JSONResponse({"ready": False, "role": role, "pid": os.getpid(),
                                 "reason": "starting: connecting and loading models"},
                                status_code=503)
        if deps.degraded is not None and deps.degraded():
            # Connected viewers are still served; a load balancer should send new ones
            # elsewhere until Redis is back.
            return JSONResponse({"ready": False, "role": role, "pid": os.getpid(),
                                 "degraded": True,
                                 "reason": "Redis unreachable: serving connected viewers, "
                                           "retrying"}, status_code=503)
        return JSONResponse({"ready": True, "role": role, "pid": os.getpid(),
                             "engines": [e.name for e in deps.translator.engines]})

    async def stats(request: Request) -> Response:
        """Every counter of this process.
        ---
        get:
          summary: Counters of this process
          operationId: stats
          tags: [health]
          responses:
            '200':
              description: the counters (see /metrics for the Prometheus form)
              content:
                application/json:
                  schema: {type: object}
        """
        return JSONResponse(deps.stats().to_json())

    async def metrics(request: Request) -> Response:
        """The Prometheus exposition.
        ---
        get:
          summary: Prometheus metrics
          operationId: metrics
          tags: [health]
          responses:
            '200':
              description: the Prometheus text exposition format
              content:
                text/plain:
                  schema: {type: string}
        """
        return Response(deps.metrics(), media_type=CONTENT_TYPE)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/v1/stats", stats),
            Route("/metrics", metrics)]
