"""The OpenAPI document at ``/openapi.json`` describes every route the app serves, and
schemathesis, driven by it against the live app, finds no 5xx and no response that breaks the
document: generated bad input (negative mode) gets a 4xx, generated good input an answer the
document allows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from starlette.routing import Mount, Route, WebSocketRoute

from babelcast.gateway.web.rest.openapi import route_methods, undocumented
from tests.harness import LiveServer, live_server

ADMIN = "a" * 32
# Examples per operation and generation mode: 17 operations run in seconds.
EXAMPLES = 25


@pytest.fixture(scope="module")
def api_server() -> Iterator[LiveServer]:
    """A gateway with an admin key (so the admin operations are reached, not just refused)
    and a translate budget the fuzzing does not exhaust. No engine: language ID and the
    request handling are what is fuzzed here, not the models (tests/live/test_rest.py)."""
    with live_server(engine="none", admin_key=ADMIN, translate_rate_per_ip=1000.0,
                     translate_burst_per_ip=100_000) as srv:
        yield srv


def _fuzz(server: LiveServer, mode: GenerationMode) -> tuple[list[str], int]:
    """Every operation of the served document, up to ``EXAMPLES`` generated cases each: the
    failures of schemathesis' checks (5xx, a 2xx for bad input, a response outside the
    document), one line per operation, and how many requests were made."""
    schema = schemathesis.openapi.from_url(server.http + "/openapi.json")
    # Good input may still name a glossary that does not exist (a 422 the document lists).
    schema.config.checks.positive_data_acceptance.expected_statuses = [
        "2xx", "3xx", "401", "403", "404", "409", "422", "429"]
    failures = []
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"})

        try:
            run()
        except Unsatisfiable:  # no input to get wrong (GET /healthz in negative mode)
            assert mode is GenerationMode.NEGATIVE and not operation.path_parameters
        except Exception as exc:  # schemathesis raises a group of the failed checks
            failures.append(f"{operation.label}: {exc}")
    return failures, calls


@pytest.mark.parametrize("mode", [GenerationMode.NEGATIVE, GenerationMode.POSITIVE],
                         ids=["bad-input", "good-input"])
def test_every_operation_answers_without_5xx_and_as_documented(
        api_server: LiveServer, mode: GenerationMode) -> None:
    failures, calls = _fuzz(api_server, mode)
    assert not failures, "\n\n".join(failures)
    assert calls >= 5 * EXAMPLES  # the operations with inputs were really exercised


def test_every_served_route_is_in_the_document(api_server: LiveServer) -> None:
    doc = api_server.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    served = api_server.app.router.routes
    assert undocumented(served) == []
    kinds: set[type] = set()
    methods = {path: set(ops) for path, ops in doc["paths"].items()}
    for path in methods:  # and the document nothing the app does not serve
        assert {m for r in served if isinstance(r, Route) and r.path == path
                for m in route_methods(r)} == methods[path], path
    for route in served:
        kinds.add(type(route))
        if isinstance(route, Route):
            assert route_methods(route) <= set(doc["paths"][route.path]), route.path
        else:
            # The viewers' WebSocket (docs/protocol.md) and the static files: no REST
            # operations for OpenAPI to describe.
            assert isinstance(route, WebSocketRoute | Mount), route
    assert kinds == {Route, WebSocketRoute, Mount}
    assert "/v1/rooms/{room}/ws" not in doc["paths"]


def test_the_document_carries_the_error_shape_and_the_admin_key(api_server: LiveServer) -> None:
    doc = api_server.get("/openapi.json").json()
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["required"] == ["code", "message"]
    assert doc["components"]["securitySchemes"]["adminKey"]["scheme"] == "bearer"
    put = doc["paths"]["/v1/glossaries/{name}"]["put"]
    assert put["security"] == [{"adminKey": []}]
    assert put["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
    assert "requestBody" in doc["paths"]["/v1/translate"]["post"]
