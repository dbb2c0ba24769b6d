"""--auth jwt on a real server with real WebSocket clients: tokens refused at the handshake,
names and roles taken from the token, host actions checked for every frame, the admin key on
REST, and `babelcast token`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from babelcast.gateway.web.auth import RoomTokens
from tests.harness import Frame, LiveServer, Viewer, live_server

SECRET = "test-secret-" + "s" * 32
ADMIN = "admin-key-0123456789"
tokens = RoomTokens(SECRET)


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[LiveServer]:
    """A gateway with --auth jwt and an admin key (real embedded models)."""
    with live_server(auth="jwt", jwt_secret=SECRET, admin_key=ADMIN, rate_limit_per_s=50.0,
                     rate_limit_burst=50) as srv:
        yield srv


def token(room: str, user: str, name: str, role: str = "viewer", ttl_s: int = 600,
          now: float | None = None) -> str:
    return tokens.issue(room, user, name, role, ttl_s, now=now).token


def join(srv: LiveServer, room: str, tok: str, lang: str = "en", extra: str = "") -> Viewer:
    return srv.viewer(room, query=f"lang={lang}&token={tok}{extra}")


def act(v: Viewer, frame: dict[str, Any]) -> Frame:
    """Send a frame; its ack or error (matched by client_id)."""
    v.send(frame)
    return v.expect(lambda f: f["type"] in ("ack", "error")
                    and f.get("client_id") == frame["client_id"])


def test_a_good_token_decides_name_and_role(jwt_server: LiveServer, room: str) -> None:
    # name and role in the URL are ignored: the token says who this is.
    v = join(jwt_server, room, token(room, "user-7", "Ana Store"), "pt",
             "&name=TheHost&role=host&host_key=guess")
    assert v.welcome["you"] == {"user_id": "user-7", "name": "Ana Store", "lang": "pt",
                                "role": "viewer"}
    h = join(jwt_server, room, token(room, "host-1", "Shop", "host"))
    assert h.welcome["you"]["role"] == "host" and h.welcome["you"]["name"] == "Shop"
    act(v, {"type": "comment", "text": "olá a todos", "client_id": "c1"})
    got = h.expect_comment("olá a todos")
    assert got["user"] == "Ana Store" and got["user_id"] == "user-7"


def test_a_token_name_loses_its_bidi_controls(jwt_server: LiveServer, room: str) -> None:
    # An override in a name would reorder what is shown around it (the host's buttons).
    v = join(jwt_server, room, token(room, "user-8", "\u202eAna\u2066 Store"), "pt")
    assert v.welcome["you"]["name"] == "Ana Store"


@pytest.mark.parametrize(("make", "code"), [
    (lambda room: "", "token_missing"),
    (lambda room: "garbage.token.here", "token_malformed"),
    (lambda room: RoomTokens("z" * 40).issue(room, "u1", "A", "host", 600).token,
     "token_bad_signature"),
    (lambda room: token(room, "u1", "A", "host", 60, now=0), "token_expired"),
    (lambda room: token("some-other-room", "u1", "A", "host"), "token_wrong_room"),
])
def test_bad_tokens_are_refused_before_the_websocket_opens(jwt_server: LiveServer, room: str,
                                                           make: Any, code: str) -> None:
    query = "lang=en" + (f"&token={tok}" if (tok := make(room)) else "")
    before = jwt_server.gateway.admission.refused
    status, error = jwt_server.refused(room, query)
    assert status == 403 and error["code"] == code and error["message"]
    assert jwt_server.gateway.admission.refused == before + 1
    assert jwt_server.get(f"/v1/rooms/{room}").status_code == 404  # never joined


def test_viewers_cannot_moderate_and_nothing_changes(jwt_server: LiveServer, room: str) -> None:
    troll = join(jwt_server, room, token(room, "troll", "Troll"))
    other = join(jwt_server, room, token(room, "fan", "Fan"), "pt")
    mid = act(other, {"type": "comment", "text": "adorei o batom", "client_id": "c1"})["id"]
    troll.expect_comment(mid)
    for frame in ({"type": "delete", "id": mid}, {"type": "pin", "id": mid},
                  {"type": "ban", "user_id": "fan"}):
        err = act(troll, frame | {"client_id": "x"})
        assert err["code"] == "forbidden" and "hosts and moderators" in err["message"]
    # Room events arrive in order: once the next comment is in, nothing else can come first.
    nxt = act(other, {"type": "comment", "text": "ainda aqui", "client_id": "c2"})
    assert nxt["type"] == "ack"
    for v in (troll, other):
        v.expect_comment(nxt["id"])
        assert not [f for f in v.frames if f["type"] in ("deleted", "pinned")]
    history = jwt_server.get(f"/v1/rooms/{room}/history").json()["messages"]
    assert [m["id"] for m in history] == [mid, nxt["id"]]
    assert join(jwt_server, room, token(room, "late", "Late")).welcome["pinned"] is None


def test_hosts_and_moderators_moderate_and_a_ban_outlasts_reconnects(
        jwt_server: LiveServer, room: str) -> None:
    h = join(jwt_server, room, token(room, "host-1", "Shop", "host"))
    mod = join(jwt_server, room, token(room, "mod-1", "Helper", "moderator"))
    spam_token = token(room, "spammer", "Spammer")
    spammer = join(jwt_server, room, spam_token)
    bad = act(spammer, {"type": "comment", "text": "visit my page", "client_id": "s1"})["id"]
    mod.expect_comment(bad)
    assert act(h, {"type": "delete", "id": bad, "client_id": "d1"})["type"] == "ack"
    assert mod.expect(lambda f: f["type"] == "deleted")["id"] == bad
    assert act(mod, {"type": "ban", "user_id": "spammer", "client_id": "b1"})["type"] == "ack"
    spammer.close()
    # The user id is the token's sub, so the mute holds for the same user reconnecting.
    again = join(jwt_server, room, spam_token)
    assert act(again, {"type": "comment", "text": "visit it again", "client_id": "s2"})["code"] == \
        "muted"
    # A moderator cannot silence the host.
    assert act(mod, {"type": "ban", "user_id": "host-1", "client_id": "b2"})["type"] == "ack"
    assert act(h, {"type": "comment", "text": "welcome all", "client_id": "h1"})["type"] == \
        "ack"


def test_a_host_token_that_expired_during_the_session_no_longer_moderates(
        jwt_server: LiveServer, room: str) -> None:
    # Expired a second ago: inside the verifier's clock-skew leeway (5 s), so the handshake
    # passes as it would for a token that expired while connected; host actions do not.
    stale = token(room, "host-2", "Old", "host", ttl_s=60, now=time.time() - 61)
    old = join(jwt_server, room, stale)
    assert old.welcome["you"]["role"] == "host"
    err = act(old, {"type": "pin", "id": None, "client_id": "p2"})
    assert err["code"] == "forbidden" and "expired" in err["message"]
    fresh = join(jwt_server, room, token(room, "host-1", "Shop", "host"))
    assert act(fresh, {"type": "pin", "id": None, "client_id": "p1"})["type"] == "ack"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_tokens_endpoint_needs_the_admin_key(jwt_server: LiveServer, room: str) -> None:
    body = {"room": room, "user": "u-9", "name": "Bia", "role": "moderator", "ttl_s": 120}
    assert jwt_server.post("/v1/tokens", json=body).status_code == 401
    wrong = jwt_server.post("/v1/tokens", json=body, headers=bearer("nope" * 5))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
    ok = jwt_server.post("/v1/tokens", json=body, headers=bearer(ADMIN))
    assert ok.status_code == 200
    out = ok.json()
    who = tokens.verify(out["token"], room)
    assert (who.user_id, who.name, who.role.value) == ("u-9", "Bia", "moderator")
    assert who.expires_at == out["expires_at"]
    assert join(jwt_server, room, out["token"]).welcome["you"]["role"] == "moderator"
    default_ttl = jwt_server.post("/v1/tokens", json={k: v for k, v in body.items()
                                                      if k != "ttl_s"}, headers=bearer(ADMIN))
    claims = tokens.verify(default_ttl.json()["token"], room)
    assert claims.expires_at - out["expires_at"] >= 3600 - 120 - 60


@pytest.mark.parametrize(("body", "says"), [
    ({"room": "r", "user": "u", "name": "n", "role": "admin"}, "role must be one of"),
    ({"room": "r", "user": "u", "name": "n", "ttl_s": -5}, "ttl_s"),
    ({"room": "no/slashes", "user": "u", "name": "n"}, "room"),
    ({"room": "r", "user": "u", "name": "n", "extra": 1}, "body must be"),
    (["r"], "body must be"),
])
def test_tokens_endpoint_explains_bad_requests(jwt_server: LiveServer, body: Any,
                                               says: str) -> None:
    r = jwt_server.post("/v1/tokens", json=body, headers=bearer(ADMIN))
    assert r.status_code == 400 and says in r.json()["error"]["message"]


def test_admin_key_guards_glossary_and_room_settings_writes(jwt_server: LiveServer,
                                                            room: str) -> None:
    glossary = {"name": "brand", "terms": [{"term": "Glowie", "translations": {}}]}
    path = "/v1/glossaries/brand"
    r = jwt_server.put(path, content=json.dumps(glossary))
    assert r.status_code == 401 and "Bearer" in r.json()["error"]["message"]
    assert jwt_server.get(path).status_code == 404  # nothing was written
    assert jwt_server.put(path, content=json.dumps(glossary),
                          headers=bearer(ADMIN)).status_code == 201
    settings_path = f"/v1/rooms/{room}/settings"
    assert jwt_server.put(settings_path, json={"glossary": "brand"}).status_code == 401
    assert jwt_server.get(settings_path).json()["glossary"] is None
    assert jwt_server.put(settings_path, json={"glossary": "brand"},
                          headers=bearer(ADMIN)).status_code == 200
    assert jwt_server.delete(path).status_code == 401
    assert jwt_server.get(path).status_code == 200  # reads stay open
    assert jwt_server.delete(path, headers=bearer(ADMIN)).status_code == 204


def test_jwt_without_admin_key_closes_admin_endpoints() -> None:
    with live_server(auth="jwt", jwt_secret=SECRET, engine="none") as srv:
        r = srv.put("/v1/glossaries/brand", content=b"{}")
        assert r.status_code == 403 and "--admin-key" in r.json()["error"]["message"]
        r = srv.post("/v1/tokens", json={"room": "r", "user": "u", "name": "n"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_disabled"


def test_auth_none_with_admin_key_guards_writes_and_issues_no_tokens() -> None:
    with live_server(engine="none", admin_key=ADMIN) as srv:
        assert srv.put("/v1/rooms/r1/settings", json={"languages": ["en"]}).status_code == 401
        r = srv.post("/v1/tokens", json={"room": "r", "user": "u", "name": "n"},
                     headers=bearer(ADMIN))
        assert r.status_code == 409 and "--auth jwt" in r.json()["error"]["message"]
        # The demo stays open to viewers: no token needed.
        v = srv.viewer("r1", "en", "Guest")
        assert v.welcome["you"]["role"] == "viewer"


def _token_cli(*args: str, secret: str | None = SECRET) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BABELCAST_JWT_SECRET"}
    if secret is not None:
        env["BABELCAST_JWT_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "babelcast.gateway", "token", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_token_command_prints_a_token_the_server_accepts(jwt_server: LiveServer,
                                                         room: str) -> None:
    out = _token_cli("--room", room, "--user", "host-9", "--name", "Loja", "--role", "host",
                     "--ttl", "3600")
    assert out.returncode == 0, out.stderr
    printed = out.stdout.strip()
    who = tokens.verify(printed, room)
    assert (who.user_id, who.name, who.role.value) == ("host-9", "Loja", "host")
    assert join(jwt_server, room, printed).welcome["you"]["role"] == "host"


def test_token_command_errors_are_one_line() -> None:
    out = _token_cli("--room", "r", "--user", "u", "--name", "n", secret=None)
    assert out.returncode == 2 and "BABELCAST_JWT_SECRET" in out.stderr
    assert "Traceback" not in out.stderr
    out = _token_cli("--room", "r", "--user", "u", "--name", "n", "--ttl", "0")
    assert out.returncode == 2 and "ttl_s" in out.stderr
