"""``POST /v1/rooms/{room}/messages`` on the real app: a back end posts into a room, viewers
get the message translated and marked with ``from``; an ``Idempotency-Key`` makes a retry
answer as the first call did."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.harness import LiveServer, live_server

ADMIN = "s" * 32
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def api() -> Iterator[LiveServer]:
    """A gateway with the real embedded models and an admin key."""
    with live_server(admin_key=ADMIN) as srv:
        yield srv


def test_an_announcement_reaches_every_language_translated(api: LiveServer, room: str) -> None:
    en = api.viewer(room, "en")
    pt = api.viewer(room, "pt")
    r = api.post(f"/v1/rooms/{room}/messages", headers=AUTH,
                 json={"text": "I love this lipstick", "as": "shop", "name": "Loja",
                       "lang": "en"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["from"] == "shop" and body["user_id"] == "shop:Loja"
    assert body["src_lang"] == "en" and body["room"] == room
    got = pt.expect_final("I love this lipstick")
    assert got["id"] == body["id"] and got["from"] == "shop" and got["user"] == "Loja"
    assert got["translated"] is True and "batom" in got["text"].lower()
    mine = en.expect_comment(body["id"])
    assert mine["from"] == "shop" and mine["text"] == "I love this lipstick"

    r = api.post(f"/v1/rooms/{room}/messages", headers=AUTH,
                 json={"text": "tem frete grátis?", "as": "host"})
    assert r.status_code == 201 and r.json()["user_id"] == "host:Host"
    got = en.expect_final("tem frete grátis?")
    assert got["from"] == "host" and got["src_lang"] == "pt"
    assert got["translated"] is True and "free shipping" in got["text"].lower()
    # Viewers' own comments carry no `from`; history keeps the flag.
    pt.comment("adorei", client_id="c")
    assert "from" not in en.expect_comment("adorei")
    hist = api.get(f"/v1/rooms/{room}/history").json()["messages"]
    assert [m.get("from") for m in hist] == ["shop", "host", None]


def test_slow_mode_and_rate_cap_do_not_hold_an_announcement(api: LiveServer, room: str) -> None:
    r = api.put(f"/v1/rooms/{room}/settings", headers=AUTH,
                json={"slow_mode_s": 600, "max_comments_per_s": 1})
    assert r.status_code == 200, r.text
    en = api.viewer(room, "en")
    ids = []
    for i in range(3):
        r = api.post(f"/v1/rooms/{room}/messages", headers=AUTH,
                     json={"text": f"Flash sale number {i}", "as": "shop", "lang": "en"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert [en.expect_comment(i)["id"] for i in ids] == ids


def test_a_retry_with_the_same_key_posts_once(api: LiveServer, room: str) -> None:
    en = api.viewer(room, "en")
    key = {"Idempotency-Key": str(uuid.uuid4()), **AUTH}
    post = {"text": "Flash sale: 20% off for 10 minutes", "as": "shop", "lang": "en"}
    first = api.post(f"/v1/rooms/{room}/messages", headers=key, json=post)
    again = api.post(f"/v1/rooms/{room}/messages", headers=key, json=post)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # The same key for another post is refused; a new key posts again.
    other = api.post(f"/v1/rooms/{room}/messages", headers=key, json=post | {"text": "other"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    fresh = api.post(f"/v1/rooms/{room}/messages",
                     headers={"Idempotency-Key": "k2", **AUTH}, json=post)
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    # The same key in another room is another key.
    elsewhere = api.post(f"/v1/rooms/{room}-b/messages", headers=key, json=post)
    assert elsewhere.status_code == 201 and "idempotent-replayed" not in elsewhere.headers
    en.expect_comment(fresh.json()["id"])
    hist = api.get(f"/v1/rooms/{room}/history").json()["messages"]
    assert [m["id"] for m in hist] == [first.json()["id"], fresh.json()["id"]]


def test_without_the_admin_key_401(api: LiveServer, room: str) -> None:
    post = {"text": "hi", "as": "shop"}
    r = api.post(f"/v1/rooms/{room}/messages", json=post)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = api.post(f"/v1/rooms/{room}/messages", json=post,
                 headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert api.get(f"/v1/rooms/{room}/history").json()["messages"] == []


def test_bad_bodies_400(api: LiveServer, room: str) -> None:
    cases = [
        (b"{nope", 400, "invalid_json"),
        (b"[1]", 400, "invalid_body"),
        (b'{"text": "hi"}', 400, "invalid_field"),
        (b'{"text": "hi", "as": "viewer"}', 400, "invalid_field"),
        (b'{"text": "", "as": "shop"}', 400, "empty_text"),
        (b'{"text": 5, "as": "shop"}', 400, "invalid_field"),
        (b'{"as": "shop"}', 400, "invalid_field"),
        (b'{"text": "' + b"a" * 501 + b'", "as": "shop"}', 400, "text_too_long"),
        (b'{"text": "hi", "as": "shop", "lang": "zz"}', 400, "invalid_lang"),
        (b'{"text": "hi", "as": "shop", "name": 3}', 400, "invalid_field"),
        (b'{"text": "hi", "as": "shop", "name": "' + b"n" * 40 + b'"}', 400, "invalid_name"),
        (b'{"text": "hi", "as": "shop", "idempotency_key": "x"}', 400, "invalid_field"),
    ]
    for body, status, code in cases:
        r = api.post(f"/v1/rooms/{room}/messages", content=body, headers=AUTH)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body[:60]
        assert r.json()["error"]["message"]
    r = api.post(f"/v1/rooms/{room}/messages", json={"text": "hi", "as": "shop"},
                 headers={"Idempotency-Key": "has space", **AUTH})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_idempotency_key"
    r = api.post("/v1/rooms/bad%20room/messages", json={"text": "hi", "as": "shop"},
                 headers=AUTH)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_room"
    assert api.get(f"/v1/rooms/{room}/history").json()["messages"] == []


def test_a_blocked_announcement_is_refused_and_its_key_freed(api: LiveServer,
                                                             room: str) -> None:
    r = api.put(f"/v1/rooms/{room}/settings", headers=AUTH, json={"blocklist": ["scam"]})
    assert r.status_code == 200, r.text
    key = {"Idempotency-Key": "blocked-1", **AUTH}
    r = api.post(f"/v1/rooms/{room}/messages", headers=key,
                 json={"text": "a scam offer", "as": "shop", "lang": "en"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "blocked"
    # The key was not spent on the refusal: the corrected post under it goes through.
    r = api.post(f"/v1/rooms/{room}/messages", headers=key,
                 json={"text": "a great offer", "as": "shop", "lang": "en"})
    assert r.status_code == 201
