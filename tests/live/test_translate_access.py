"""``POST /v1/translate`` spends model time: it is limited per client IP (429 with a JSON
reason and ``Retry-After``), the admin key is exempt, and with ``--auth jwt`` it needs a room
token or the admin key."""

from __future__ import annotations

import time

from babelcast.gateway.web.auth import RoomTokens
from tests.harness import LiveServer, live_server

SECRET = "k" * 40
ADMIN = "a" * 32
REQUEST = {"text": "hello", "source": "en", "targets": ["en"]}


def _translate(srv: LiveServer, bearer: str | None = None) -> tuple[int, dict, dict]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    r = srv.post("/v1/translate", json=REQUEST, headers=headers)
    return r.status_code, r.json(), dict(r.headers)


def test_translate_is_limited_per_address_and_the_admin_key_is_exempt() -> None:
    with live_server(engine="none", admin_key=ADMIN, translate_rate_per_ip=0.001,
                     translate_burst_per_ip=2) as srv:
        assert [_translate(srv)[0] for _ in range(2)] == [200, 200]
        status, body, headers = _translate(srv)
        assert status == 429 and body["error"]["code"] == "rate_limited"
        assert "at most 0.001/s" in body["error"]["message"]
        assert headers["retry-after"] == "1000"
        status, body, _ = _translate(srv, ADMIN)  # a platform's backend
        assert status == 200 and body["translations"]["en"]["text"] == "hello"
        assert _translate(srv, "not-the-key")[0] == 429  # a wrong key is just a caller


def test_translate_needs_a_token_or_the_admin_key_with_jwt() -> None:
    tokens = RoomTokens(SECRET)
    with live_server(engine="none", auth="jwt", jwt_secret=SECRET, admin_key=ADMIN,
                     translate_rate_per_ip=0.001, translate_burst_per_ip=2) as srv:
        status, body, _ = _translate(srv)
        assert status == 401 and body["error"]["code"] == "unauthorized"
        assert "Bearer <room token>" in body["error"]["message"]
        forged = RoomTokens("f" * 40).issue("live", "u-1", "Ana", "viewer", 600).token
        assert _translate(srv, forged)[1]["error"]["code"] == "token_bad_signature"
        expired = tokens.issue("live", "u-1", "Ana", "viewer", 60,
                               now=time.time() - 3600).token
        assert _translate(srv, expired)[1]["error"]["code"] == "token_expired"
        # Refusals spent no budget: a token of any room passes, twice, then the limit.
        viewer = tokens.issue("any-room", "u-1", "Ana", "viewer", 600).token
        assert [_translate(srv, viewer)[0] for _ in range(3)] == [200, 200, 429]
        assert _translate(srv, ADMIN)[0] == 200


def test_translate_without_a_limit() -> None:
    with live_server(engine="none", translate_rate_per_ip=0.0,
                     translate_burst_per_ip=1) as srv:
        assert {_translate(srv)[0] for _ in range(5)} == {200}
