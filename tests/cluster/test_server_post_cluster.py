"""``POST /v1/rooms/{room}/messages`` on two nodes sharing a real Redis: a retry that reaches
the other node with the same ``Idempotency-Key`` gets the first answer and posts nothing, and
viewers on either node get the message with its ``from``."""

from __future__ import annotations

from tests.harness import live_server

ADMIN = "c" * 32
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def test_an_idempotency_key_answers_the_same_on_every_node(redis_url: str, room: str) -> None:
    settings = {"engine": "none", "redis_url": redis_url, "admin_key": ADMIN}
    with live_server(**settings) as a, live_server(**settings) as b:
        on_b = b.viewer(room, "en")
        post = {"text": "Flash sale: 20% off for 10 minutes", "as": "shop", "lang": "en"}
        headers = {"Idempotency-Key": "sale-1", **AUTH}
        first = a.post(f"/v1/rooms/{room}/messages", headers=headers, json=post)
        assert first.status_code == 201, first.text
        again = b.post(f"/v1/rooms/{room}/messages", headers=headers, json=post)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        got = on_b.expect_comment(first.json()["id"])
        assert got["from"] == "shop" and got["user_id"] == "shop:Shop"
        hist = a.get(f"/v1/rooms/{room}/history").json()["messages"]
        assert [(m["id"], m["from"]) for m in hist] == [(first.json()["id"], "shop")]
        # The same key with another body is refused on the other node too.
        other = b.post(f"/v1/rooms/{room}/messages", headers=headers,
                       json=post | {"text": "another"})
        assert other.status_code == 422
        assert other.json()["error"]["code"] == "idempotency_key_reused"
