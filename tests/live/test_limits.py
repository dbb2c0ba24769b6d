"""Connection and input limits: Origin allow-list, per-IP connection rate and count (refused
before the WebSocket opens), per-user frame rate that survives reconnects, the transport's
frame cut-off, and the settings that configure them."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from babelcast.gateway.limits.admission import ConnectionAdmission, RateBuckets
from babelcast.gateway.settings import Settings, SettingsError
from babelcast.gateway.web.auth import RoomTokens
from tests.harness import LiveServer, Viewer, exhaust_rate_limit, live_server

SECRET = "k" * 40
SHOP = "https://shop.example.com"


def test_rate_buckets_are_per_key_and_forget_only_full_buckets() -> None:
    rates = RateBuckets(rate=1.0, burst=2)
    assert [rates.take("a", 0.0) for _ in range(3)] == [True, True, False]
    assert rates.take("b", 0.0)  # another key has its own bucket
    assert not rates.take("a", 0.5)  # half a token refilled: still empty
    assert rates.take("a", 1.6) and not rates.take("a", 1.6)
    # Two seconds (burst / rate) after their last use, both buckets would be full: forgotten.
    assert rates.take("c", 3.7) and len(rates) == 1


def test_admission_checks_origin_rate_and_count() -> None:
    gate = ConnectionAdmission([SHOP + "/"], max_per_ip=2, rate_per_ip=1.0, burst_per_ip=3)
    assert gate.check("1.1.1.1", "https://evil.example", 0.0).status == 403  # type: ignore
    assert gate.check("1.1.1.1", "HTTPS://Shop.Example.com", 0.0) is None
    gate.opened("1.1.1.1")
    assert gate.check("1.1.1.1", None, 0.0) is None  # no Origin: not a browser
    gate.opened("1.1.1.1")
    full = gate.check("1.1.1.1", None, 0.0)
    assert full is not None and full.status == 429 and "2 open" in full.message
    gate.closed("1.1.1.1")
    assert gate.check("2.2.2.2", None, 0.0) is None
    fast = gate.check("1.1.1.1", None, 0.0)  # 4th attempt in the same instant: rate
    assert fast is not None and fast.status == 429 and "new connections" in fast.message
    assert gate.refused == 3


@pytest.mark.parametrize(("values", "says"), [
    ({"auth": "oauth"}, "auth must be one of none, jwt"),
    ({"auth": "jwt"}, "--jwt-secret"),
    ({"auth": "jwt", "jwt_secret": "short"}, "at least 32"),
    ({"jwt_secret": "short"}, "at least 32"),
    ({"auth": "jwt", "jwt_secret": SECRET, "host_key": "k"}, "unset host_key"),
    ({"admin_key": "abc"}, "admin_key must be at least 16"),
    ({"token_ttl_s": 0}, "token_ttl_s"),
    ({"max_connections_per_ip": -1}, "max_connections_per_ip"),
    ({"connect_rate_per_ip": -1.0}, "connect_rate_per_ip"),
    ({"connect_burst_per_ip": 0}, "connect_burst_per_ip"),
    ({"translate_rate_per_ip": -1.0}, "translate_rate_per_ip"),
    ({"translate_burst_per_ip": 0}, "translate_burst_per_ip"),
    ({"allowed_origins": "shop.example.com"}, "scheme://host"),
    ({"allowed_origins": "https://shop.example.com/path"}, "no path"),
])
def test_bad_auth_and_limit_settings_are_named(values: dict[str, object], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings(**values)  # type: ignore[arg-type]


def test_serve_refuses_jwt_without_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    from babelcast.gateway.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--auth", "jwt"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--jwt-secret" in err and "BABELCAST_JWT_SECRET" in err


def _viewer(srv: LiveServer, room: str, name: str = "v", **kw: object) -> Viewer:
    url = f"ws://127.0.0.1:{srv.port}/v1/rooms/{room}/ws?lang=en&name={name}"
    return Viewer(connect(url, open_timeout=10, max_size=None, legacy=True, **kw), False)


def test_origin_allow_list_and_concurrent_connections_per_ip(room: str) -> None:
    with live_server(engine="none", allowed_origins=SHOP, max_connections_per_ip=3,
                     presence_interval_s=0.05) as srv:
        status, error = srv.refused(room, "lang=en", origin="https://evil.example")
        assert status == 403 and error["code"] == "origin_not_allowed"
        a = _viewer(srv, room, "a", origin=SHOP)
        b = _viewer(srv, room, "b")  # no Origin header: a bot or an app, allowed
        c = _viewer(srv, room, "c", origin=SHOP)
        status, error = srv.refused(room, "lang=en")
        assert status == 429 and error["code"] == "too_many_connections"
        c.close()
        # The slot is free once the server has seen the close: wait for presence to drop.
        a.expect(lambda f: f["type"] == "presence" and f["total"] == 2)
        d = _viewer(srv, room, "d")
        d.comment("still works", client_id="c1")
        for v in (a, b, d):
            v.expect_comment("still works")


def test_connection_rate_per_ip(room: str) -> None:
    # A tiny refill rate: the burst of 3 is all this test can use.
    with live_server(engine="none", connect_rate_per_ip=0.001, connect_burst_per_ip=3) as srv:
        viewers = [_viewer(srv, room, f"v{i}") for i in range(3)]
        status, error = srv.refused(room, "lang=en")
        assert status == 429 and "new connections" in error["message"]
        viewers[0].close()
        # Closing does not give back a connection attempt.
        assert srv.refused(room, "lang=en")[0] == 429
        viewers[1].comment("hello", client_id="c1")
        viewers[2].expect_comment("hello")
        assert srv.get("/v1/stats").json()["handshakes_refused"] == 2
        assert "babelcast_handshakes_refused_total 2.0" in srv.get("/metrics").text


def test_rate_limit_follows_the_user_across_reconnects(room: str) -> None:
    tokens = RoomTokens(SECRET)
    with live_server(engine="none", auth="jwt", jwt_secret=SECRET, rate_limit_per_s=0.001,
                     rate_limit_burst=3) as srv:
        tok = tokens.issue(room, "user-1", "Ana", "viewer", 600).token
        first = srv.viewer(room, query=f"lang=en&token={tok}")
        exhaust_rate_limit(first, 3)
        first.close()
        again = srv.viewer(room, query=f"lang=en&token={tok}")
        again.send({"type": "ping", "client_id": "after-reconnect"})
        err = again.expect_error()
        assert err["code"] == "rate_limited" and err["client_id"] == "after-reconnect"
        # Another user is not affected.
        other = srv.viewer(room, query="lang=en&token="
                           + tokens.issue(room, "user-2", "Bia", "viewer", 600).token)
        other.send({"type": "ping", "client_id": "ok"})
        assert other.expect(lambda f: f["type"] in ("pong", "error"))["type"] == "pong"


def test_anonymous_rate_limit_is_by_address_and_name(room: str) -> None:
    with live_server(engine="none", rate_limit_per_s=0.001, rate_limit_burst=3) as srv:
        first = srv.viewer(room, "en", "Ana")
        exhaust_rate_limit(first, 3)
        first.close()
        again = srv.viewer(room, "en", "Ana")
        again.send({"type": "ping", "client_id": "x"})
        assert again.expect_error()["code"] == "rate_limited"
        other = srv.viewer(room, "en", "Bia")
        other.send({"type": "ping", "client_id": "ok"})
        assert other.expect(lambda f: f["type"] in ("pong", "error"))["type"] == "pong"


def test_frames_beyond_the_transport_limit_close_only_that_connection(server: LiveServer,
                                                                      room: str) -> None:
    # Up to 1 MiB reaches the protocol layer (frame_too_large error); beyond, the transport
    # closes the connection with 1009 before buffering the frame whole.
    big = server.viewer(room, "en", "Big")
    other = server.viewer(room, "en", "Other")
    big.send_raw("x" * 100_000)
    assert big.expect_error()["code"] == "frame_too_large"
    big.send_raw("x" * ((1 << 20) + 1))
    with pytest.raises(ConnectionClosed) as closed:
        big.expect(lambda f: False)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    other.comment("still here", client_id="c1")
    other.expect_comment("still here")


def test_security_doc_states_the_current_defaults() -> None:
    """Every setting named in docs/security.md's limits table shows its real default."""
    import dataclasses
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    table = doc[doc.index("## Limits"):doc.index("## Moderation")]
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    checked = 0
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 3:
            continue
        names = [n for n in re.findall(r"`(\w+)`", cells[0]) if n in defaults]
        shown = [x.strip() for x in re.sub(r"\([^)]*\)", "", cells[1]).split(",")]
        if not names:
            continue
        assert len(shown) == len(names), line
        for name, text in zip(names, shown, strict=True):
            value = defaults[name]
            expected = "empty" if value == "" else (f"{value:g}" if isinstance(value, float)
                                                   else str(value))
            assert text == expected, f"{name}: docs say {text!r}, the default is {expected!r}"
            checked += 1
    assert checked >= 12


def test_open_admin_endpoints_are_logged_at_start(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="babelcast"), live_server(engine="none") as srv:
        assert srv.put("/v1/rooms/r1/settings", json={"languages": ["en"]}).status_code == 200
    assert any("--admin-key" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING", logger="babelcast"), \
            live_server(engine="none", admin_key="k" * 16):
        pass
    assert not [r for r in caplog.records if "--admin-key" in r.getMessage()]
