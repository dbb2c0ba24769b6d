"""The chat stage seen from the REST API: its rewrites with ``debug: true`` on /v1/translate,
and the room setting that turns it off."""

from __future__ import annotations

from tests.harness import LiveServer

COMMENT = "vc manda pra curitiba?"


def test_translate_with_debug_lists_the_stage_rewrites(server: LiveServer) -> None:
    body = {"text": COMMENT, "source": "pt", "targets": ["en"]}
    plain = server.post("/v1/translate", json=body).json()["translations"]["en"]
    assert "rewrites" not in plain  # only when asked for
    assert plain["translated"] is True and "Curitiba" in plain["text"]
    assert "vc" not in plain["text"].split()
    debug = server.post("/v1/translate", json={**body, "debug": True}).json()
    got = debug["translations"]["en"]
    assert got["text"] == plain["text"]
    rewrites = {(r["kind"], r["before"], r["after"]) for r in got["rewrites"]}
    assert ("abbreviation", "vc", "você") in rewrites
    assert ("phonetic", "pra", "para") in rewrites
    assert ("place", "curitiba", "Curitiba") in rewrites
    assert all(r["why"] for r in got["rewrites"])


def test_a_room_can_turn_the_chat_stage_off(server: LiveServer, room: str) -> None:
    path = f"/v1/rooms/{room}/settings"
    assert server.get(path).json()["normalise_chat"] is True
    bad = server.put(path, json={"normalise_chat": "no"})
    assert bad.status_code == 400 and "normalise_chat" in bad.json()["error"]["message"]
    r = server.put(path, json={"normalise_chat": False})
    assert r.status_code == 200 and r.json()["normalise_chat"] is False
    en = server.viewer(room, "en", "Host")
    pt = server.viewer(room, "pt", "Ana")
    pt.comment(COMMENT)
    raw = en.expect_final(COMMENT)
    assert raw["translated"] is True
    # The model alone leaves the abbreviation and the lower-case city as written.
    assert "vc" in raw["text"].split() and "Curitiba" not in raw["text"]
    assert server.put(path, json={"normalise_chat": True}).json()["normalise_chat"] is True
    pt.comment("vc manda pra recife?")
    staged = en.expect_final("vc manda pra recife?")
    assert "Recife" in staged["text"] and "vc" not in staged["text"].split()
