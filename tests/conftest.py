from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from tests.harness import LiveServer, live_server
from tests.redis_server import RedisServer

_rooms = itertools.count(1)

# One folder per tier; each test is marked with its folder's name, so `pytest -m unit` (or
# `pytest tests/unit`) is the fast loop and `-m "not browser"` skips the slowest tier.
TIERS = ("unit", "contract", "live", "cluster", "models", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.parent.name
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.path}: tests live in one of the tier folders "
                                    f"{', '.join(TIERS)}")
        item.add_marker(tier)


@pytest.fixture(scope="session")
def server() -> Iterator[LiveServer]:
    """One gateway with default settings (real embedded models), shared by many tests.
    Tests use their own room, so they do not see each other's chat."""
    # Generous limits: many tests share this server's address and budgets.
    with live_server(rate_limit_per_s=50.0, rate_limit_burst=50, translate_rate_per_ip=50.0,
                     translate_burst_per_ip=200) as srv:
        yield srv


@pytest.fixture
def room(request: pytest.FixtureRequest) -> str:
    """A room name of this test's own."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"t{next(_rooms)}-{request.node.name}")[:60]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the suite's own (skipped without one, a failure under CI)."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis."""
    redis_server.flush()
    return redis_server.url
