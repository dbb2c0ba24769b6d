"""Outbound webhooks against a real HTTP receiver: signed as Standard Webhooks says, retried
after a 500, queued while an endpoint is down and then delivered in order, and never in the
way of the chat when an endpoint hangs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from babelcast.gateway.webhooks.endpoints import new_secret
from tests.harness import LiveServer, free_port, live_server
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.live

ADMIN = "webhooks-admin-key-0123"
HOST_KEY = "webhooks-host-key"
AUTH = {"authorization": f"Bearer {ADMIN}"}
SECRET = new_secret()


@pytest.fixture(scope="module")
def file_receiver() -> Iterator[Receiver]:
    """The endpoint of the webhooks file the server starts with."""
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def hooks_server(file_receiver: Receiver, tmp_path_factory: pytest.TempPathFactory,
                 ) -> Iterator[LiveServer]:
    path = Path(tmp_path_factory.mktemp("hooks")) / "webhooks.toml"
    path.write_text(f'[[endpoints]]\nid = "from-file"\nurl = "{file_receiver.url}"\n'
                    f'secret = "{SECRET}"\n')
    with live_server(webhooks=str(path), admin_key=ADMIN, host_key=HOST_KEY,
                     webhook_first_retry_s=0.05, webhook_timeout_s=1.0,
                     rate_limit_per_s=50.0, rate_limit_burst=50) as srv:
        yield srv


def add_endpoint(server: LiveServer, url: str, **fields: object) -> dict[str, object]:
    reply = server.post("/v1/webhooks", json={"url": url, **fields}, headers=AUTH)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_events_are_signed_and_carry_the_translations(hooks_server: LiveServer,
                                                      file_receiver: Receiver,
                                                      room: str) -> None:
    en = hooks_server.viewer(room, "en", "Bob")
    pt = hooks_server.viewer(room, "pt", "Ana")
    pt.comment("tem frete grátis?")
    en.expect_comment("tem frete grátis?")
    got = file_receiver.wait_for(room, 2)
    for request in got:
        Webhook(SECRET).verify(request.body, request.headers)  # raises if not signed right
        assert request.headers["webhook-id"].startswith("msg_")
    published, question = (r.json for r in got)
    assert published["type"] == "comment.published" and question["type"] == "question.asked"
    data = published["data"]
    assert data["text"] == "tem frete grátis?" and data["lang"] == "pt" and data["user"] == "Ana"
    assert data["question"] is True and data["pending"] == []
    assert data["translations"]["en"]["translated"] is True
    assert "free shipping" in data["translations"]["en"]["text"].lower()
    assert question["data"] == data
    # A tampered body does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(got[0].body.replace(b"Ana", b"Eve"), got[0].headers)


def test_host_actions_and_blocked_comments_are_sent(hooks_server: LiveServer,
                                                    file_receiver: Receiver, room: str) -> None:
    hooks_server.put(f"/v1/rooms/{room}/settings", json={"blocklist": ["forbiddenword"]},
                     headers=AUTH).raise_for_status()
    host = hooks_server.viewer(room, query=f"lang=en&name=Host&role=host&host_key={HOST_KEY}")
    viewer = hooks_server.viewer(room, "en", "Troll")
    viewer.comment("buy forbiddenword now")
    assert viewer.expect_error()["code"] == "blocked"
    viewer.comment("hello everyone")
    msg = host.expect_comment("hello everyone")
    host.send({"type": "delete", "id": msg["id"]})
    host.send({"type": "ban", "user_id": msg["user_id"]})
    types = [r.json["type"] for r in file_receiver.wait_for(room, 4)]
    assert types == ["comment.blocked", "comment.published", "comment.deleted", "user.muted"]
    blocked, _, deleted, muted = file_receiver.events(room)
    assert blocked["data"]["text"] == "buy forbiddenword now"
    assert blocked["data"]["message_id"] is None
    assert deleted["data"]["message_id"] == msg["id"]
    assert muted["data"]["user_id"] == msg["user_id"]


def test_a_500_is_retried_then_delivered(hooks_server: LiveServer, room: str) -> None:
    receiver = Receiver(fail=2).start()
    endpoint = add_endpoint(hooks_server, receiver.url, events=["comment.published"])
    try:
        hooks_server.viewer(room, "en", "Bob").comment("hello there")
        (got,) = receiver.wait_for(room, 1)
        assert receiver.attempts == 3
        Webhook(str(endpoint["secret"])).verify(got.body, got.headers)
        deliveries = hooks_server.get("/v1/webhooks/deliveries",
                                      params={"endpoint": endpoint["id"]}, headers=AUTH).json()
        (record,) = deliveries["recent"]
        assert record["status"] == "delivered" and record["attempts"] == 3
        assert record["event_id"] == got.headers["webhook-id"]
    finally:
        hooks_server.delete(f"/v1/webhooks/{endpoint['id']}", headers=AUTH)
        receiver.stop()


def test_an_endpoint_down_gets_the_events_later_in_order(hooks_server: LiveServer,
                                                         room: str) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    endpoint = add_endpoint(hooks_server, f"http://127.0.0.1:{port}/hooks",
                            events=["comment.published"])
    receiver = None
    try:
        viewer = hooks_server.viewer(room, "en", "Bob")
        texts = [f"comment number {i}" for i in range(5)]
        for text in texts:
            viewer.comment(text)
            viewer.expect_comment(text)
        deadline = time.monotonic() + 10
        while True:  # until the first event has failed at least once
            view = hooks_server.get("/v1/webhooks/deliveries",
                                    params={"endpoint": endpoint["id"]}, headers=AUTH).json()
            current = view["endpoints"][0]["current"]
            if current is not None and current["attempts"] >= 2:
                break
            assert time.monotonic() < deadline, view
        assert "ConnectError" in current["error"]
        receiver = Receiver(port).start()
        got = receiver.wait_for(room, len(texts))
        assert [r.json["data"]["text"] for r in got] == texts
    finally:
        hooks_server.delete(f"/v1/webhooks/{endpoint['id']}", headers=AUTH)
        if receiver is not None:
            receiver.stop()


def test_a_hanging_endpoint_does_not_slow_the_chat(hooks_server: LiveServer, room: str) -> None:
    receiver = Receiver(hang=True).start()
    endpoint = add_endpoint(hooks_server, receiver.url)
    try:
        en = hooks_server.viewer(room, "en", "Bob")
        reader = hooks_server.viewer(room, "en", "Cat")
        en.comment("first one")
        reader.expect_comment("first one")
        receiver.wait_attempts(1)  # the endpoint now holds the delivery open
        started = time.monotonic()
        for i in range(10):
            en.comment(f"still flowing {i}")
            reader.expect_comment(f"still flowing {i}")
        elapsed = time.monotonic() - started
        # Were the chat waiting on the endpoint, each comment would take the 1 s attempt deadline.
        assert elapsed < 3.0, f"10 comments took {elapsed:.2f} s with a hanging endpoint"
        assert receiver.received == []  # nothing has been answered yet
        view = hooks_server.get("/v1/webhooks/deliveries", params={"endpoint": endpoint["id"]},
                                headers=AUTH).json()
        assert view["endpoints"][0]["queued"] >= 9
    finally:
        hooks_server.delete(f"/v1/webhooks/{endpoint['id']}", headers=AUTH)
        receiver.stop()


def test_endpoints_over_rest_need_the_admin_key_and_valid_fields(
        hooks_server: LiveServer) -> None:
    assert hooks_server.get("/v1/webhooks").status_code == 401
    listed = hooks_server.get("/v1/webhooks", headers=AUTH).json()["endpoints"]
    assert [e["id"] for e in listed] == ["from-file"]
    assert "secret" not in listed[0] and SECRET not in str(listed)
    for body, problem in [
        ({"url": "ftp://shop.example/hooks"}, "http:// or https://"),
        ({"url": "https://shop.example/h", "secret": "abc"}, "whsec_"),
        ({"url": "https://shop.example/h", "events": ["comment.liked"]}, "unknown event type"),
        ({"url": "https://shop.example/h", "colour": "red"}, "unknown field"),
        ({}, "url is missing"),
    ]:
        reply = hooks_server.post("/v1/webhooks", json=body, headers=AUTH)
        # The body's shape is a 400; well-formed values that make no endpoint a 422.
        shape = "url" not in body or "colour" in body
        assert reply.status_code == (400 if shape else 422), body
        assert reply.json()["error"]["code"] == "invalid_endpoint"
        assert problem in reply.json()["error"]["message"]
    made = add_endpoint(hooks_server, "https://shop.example/h", id="shop")
    assert str(made["secret"]).startswith("whsec_")
    again = hooks_server.post("/v1/webhooks", json={"url": "https://x.example", "id": "shop"},
                              headers=AUTH)
    assert again.status_code == 409
    assert hooks_server.delete("/v1/webhooks/shop", headers=AUTH).status_code == 204
    assert hooks_server.delete("/v1/webhooks/shop", headers=AUTH).status_code == 404
    bad_limit = hooks_server.get("/v1/webhooks/deliveries", params={"limit": "0"}, headers=AUTH)
    assert bad_limit.status_code == 400
