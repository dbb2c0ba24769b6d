"""Glossaries through the gateway: REST management, a room using one, hits on comments,
protected spans intact through the real embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from babelcast.gateway.stores.base import RoomSettings
from tests.harness import LiveServer

BRAND = {
    "terms": [
        {"term": "Pink Friday Nails"},
        {"term": "lip gloss", "translations": {"pt": "gloss labial"}},
    ]
}


def test_glossary_crud_and_versions(server: LiveServer) -> None:
    name = "crud-brand"
    assert server.get(f"/v1/glossaries/{name}").status_code == 404
    r = server.put(f"/v1/glossaries/{name}", json=BRAND)
    assert r.status_code == 201 and r.json()["version"] == 1
    same = server.put(f"/v1/glossaries/{name}", json=BRAND)
    assert same.status_code == 200 and same.json()["version"] == 1  # unchanged content
    changed = {"terms": [*BRAND["terms"], {"term": "Velvet Matte"}]}
    assert server.put(f"/v1/glossaries/{name}", json=changed).json()["version"] == 2
    got = server.get(f"/v1/glossaries/{name}").json()
    assert [t["term"] for t in got["terms"]][-1] == "Velvet Matte"
    listed = {g["name"]: g for g in server.get("/v1/glossaries").json()["glossaries"]}
    assert listed[name]["version"] == 2 and listed[name]["terms"] == 3
    assert server.delete(f"/v1/glossaries/{name}").status_code == 204
    assert server.delete(f"/v1/glossaries/{name}").status_code == 404


def test_bad_glossaries_get_clear_4xx_errors(server: LiveServer) -> None:
    cases = [
        (b"{not json", 400),
        (json.dumps({"terms": [{"term": ""}]}).encode(), 422),
        (json.dumps({"terms": [{"term": "x", "translations": {"klingon": "y"}}]}).encode(),
         422),
        (json.dumps({"terms": "lip gloss"}).encode(), 422),
    ]
    for body, status in cases:
        r = server.put("/v1/glossaries/bad", content=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] and r.json()["error"]["message"]
    assert server.get("/v1/glossaries/bad").status_code == 404  # nothing half-stored


def test_room_with_glossary_keeps_brands_and_reports_hits(server: LiveServer,
                                                          room: str) -> None:
    assert server.put("/v1/glossaries/nails", json=BRAND).status_code in (200, 201)
    r = server.put(f"/v1/rooms/{room}/settings", json={"glossary": "nails"})
    assert r.json() == {"room": room, "glossary": "nails", "languages": [],
                        **RoomSettings().to_json()} | {"glossary": "nails"}
    missing = server.put(f"/v1/rooms/{room}/settings", json={"glossary": "nope"})
    assert missing.status_code == 422
    assert server.get(f"/v1/rooms/{room}/settings").json()["glossary"] == "nails"

    en = server.viewer(room, "en", "Host")
    pt = server.viewer(room, "pt", "Ana")
    text = "The Pink Friday Nails lip gloss is back @maria_silva 😍 https://shop.example.com/p/12"
    en.comment(text)
    got = pt.expect_comment(text)
    if got["pending"]:
        got = got | pt.expect(lambda f: f["type"] == "translation" and f["id"] == got["id"])
    assert got["translated"] is True
    for span in ("Pink Friday Nails", "gloss labial", "@maria_silva", "😍",
                 "https://shop.example.com/p/12"):
        assert got["text"].count(span) == 1, (span, got["text"])
    assert got["glossary_hits"] == ["Pink Friday Nails", "lip gloss"]
    own = en.expect_comment(text)
    assert own["glossary_hits"] == ["Pink Friday Nails", "lip gloss"]

    r = server.post("/v1/translate", json={"text": "I want the lip gloss", "source": "en",
                                           "targets": ["pt"], "glossary": "nails"})
    assert "gloss labial" in r.json()["translations"]["pt"]["text"]
    assert r.json()["glossary_hits"] == ["lip gloss"]


def test_room_languages_narrow_language_id(server: LiveServer, room: str) -> None:
    bad = [{"languages": ["pt", "zz"]}, {"languages": "pt"}, {"colour": "red"}, {}]
    for body in bad:
        r = server.put(f"/v1/rooms/{room}/settings", json=body)
        assert r.status_code == 400 and r.json()["error"]["message"], body
    r = server.put(f"/v1/rooms/{room}/settings", json={"languages": ["pt-BR", "ko"]})
    assert r.json()["languages"] == ["pt", "ko"] and r.json()["glossary"] is None
    en = server.viewer(room, "en")
    viewer = server.viewer(room, "es")
    # Alone, "muy bonito" is Spanish; this room is for Portuguese and Korean speakers only.
    assert server.post("/v1/translate", json={"text": "muy bonito", "targets": ["en"]}
                       ).json()["source"] == "es"
    viewer.comment("muy bonito")
    assert en.expect_comment("muy bonito")["src_lang"] == "pt"
    server.put(f"/v1/rooms/{room}/settings", json={"languages": []})
    viewer.comment("muy bonito")
    assert en.expect_comment("muy bonito")["src_lang"] == "es"


def test_a_recreated_glossary_is_never_served_old_cached_translations(server: LiveServer
                                                                      ) -> None:
    name = "recreated"
    body = {"terms": [{"term": "lip gloss", "translations": {"pt": "gloss labial"}}]}
    assert server.put(f"/v1/glossaries/{name}", json=body).status_code == 201
    req = {"text": "I want the lip gloss", "source": "en", "targets": ["pt"], "glossary": name}
    assert "gloss labial" in server.post("/v1/translate", json=req).json()[
        "translations"]["pt"]["text"]
    server.delete(f"/v1/glossaries/{name}")
    other = {"terms": [{"term": "lip gloss", "translations": {"pt": "brilho mágico"}}]}
    created = server.put(f"/v1/glossaries/{name}", json=other).json()
    assert created["version"] == 1  # the same name and version as before, other content
    text = server.post("/v1/translate", json=req).json()["translations"]["pt"]["text"]
    assert "brilho mágico" in text and "gloss labial" not in text


def test_glossaries_load_from_files_at_start(tmp_path: Path) -> None:
    from tests.harness import ServeProcess

    data = Path(__file__).parents[1] / "data" / "glossary_chat_glossary.json"
    node = ServeProcess("--glossaries", str(data)).wait_ready()
    try:
        loaded = httpx.get(node.http + "/v1/glossaries", timeout=10).json()["glossaries"]
        assert [g["name"] for g in loaded] == ["glowshop"] and loaded[0]["terms"] > 10
    finally:
        node.stop()
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "bad", "terms": [{"term": ""}]}')
    proc = ServeProcess("--glossaries", str(bad))
    out = proc.wait_exit()
    assert proc.proc.returncode == 2
    assert "cannot load glossaries from" in out and "bad.json" in out
    assert "Traceback" not in out
