"""Rate limits shared by gateway nodes through Redis (real redis-server, two live nodes): a
user's and an address's budget follows them to another node. The limiter itself is tested
against both backends in tests/contract/test_rate_limits.py."""

from __future__ import annotations

from babelcast.gateway.web.auth import RoomTokens
from tests.harness import exhaust_rate_limit, live_server

SECRET = "k" * 40


def test_rate_limit_follows_the_user_to_another_node(redis_url: str, room: str) -> None:
    tokens = RoomTokens(SECRET)
    settings = {"engine": "none", "redis_url": redis_url, "rate_limit_per_s": 0.001,
                "rate_limit_burst": 3}
    with live_server(**settings, auth="jwt", jwt_secret=SECRET) as a, \
            live_server(**settings, auth="jwt", jwt_secret=SECRET) as b:
        tok = tokens.issue(room, "user-1", "Ana", "viewer", 600).token
        first = a.viewer(room, query=f"lang=en&token={tok}")
        exhaust_rate_limit(first, 3)
        first.close()
        again = b.viewer(room, query=f"lang=en&token={tok}")
        again.send({"type": "ping", "client_id": "on-b"})
        err = again.expect_error()
        assert err["code"] == "rate_limited" and err["client_id"] == "on-b"
        other = b.viewer(room, query="lang=en&token="
                         + tokens.issue(room, "user-2", "Bia", "viewer", 600).token)
        other.send({"type": "ping", "client_id": "ok"})
        assert other.expect(lambda f: f["type"] in ("pong", "error"))["type"] == "pong"


def test_anonymous_rate_limit_follows_address_and_name_to_another_node(
        redis_url: str, room: str) -> None:
    settings = {"engine": "none", "redis_url": redis_url, "rate_limit_per_s": 0.001,
                "rate_limit_burst": 3}
    with live_server(**settings) as a, live_server(**settings) as b:
        first = a.viewer(room, "en", "Ana")
        exhaust_rate_limit(first, 3)
        first.close()
        again = b.viewer(room, "en", "Ana")
        again.send({"type": "ping", "client_id": "x"})
        assert again.expect_error()["code"] == "rate_limited"


def test_translate_budget_of_an_address_is_shared_by_nodes(redis_url: str) -> None:
    settings = {"engine": "none", "redis_url": redis_url, "translate_rate_per_ip": 0.001,
                "translate_burst_per_ip": 2}
    request = {"text": "hello", "source": "en", "targets": ["en"]}
    with live_server(**settings) as a, live_server(**settings) as b:
        assert [a.post("/v1/translate", json=request).status_code for _ in range(2)] == [200, 200]
        r = b.post("/v1/translate", json=request)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
