"""The host console's server side over a real gateway (real en<->pt models): the `question`
flag on comment frames, GET /v1/rooms/{room}/insights, and the /host/{room} page."""

from __future__ import annotations

from tests.harness import LiveServer

GLOSSARY = {"terms": [{"term": "Glow Kit"}, {"term": "Lip Oil"}]}


def test_comments_carry_the_question_flag(server: LiveServer, room: str) -> None:
    en = server.viewer(room, "en", "Host")
    pt = server.viewer(room, "pt", "Ana")
    for text in ("Qual é o preço do frete para o Brasil?", "quanto custa o kit",
                 "adorei o batom 😍"):
        pt.comment(text)
    asked = en.expect_comment("Qual é o preço do frete para o Brasil?")
    no_mark = en.expect_comment("quanto custa o kit")
    statement = en.expect_comment("adorei o batom 😍")
    assert asked["question"] is True and no_mark["question"] is True
    assert statement["question"] is False
    # Every language gets the same flag, and history keeps it.
    assert pt.expect_comment("quanto custa o kit")["question"] is True
    late = server.viewer(room, "en", "Late")
    assert [f["question"] for f in late.welcome["history"]] == [True, True, False]


def test_insights_summarise_the_room(server: LiveServer, room: str) -> None:
    assert server.put("/v1/glossaries/console-kit", json=GLOSSARY).status_code in (200, 201)
    assert server.put(f"/v1/rooms/{room}/settings",
                      json={"glossary": "console-kit"}).status_code == 200
    en = server.viewer(room, "en", "Host")
    pt = server.viewer(room, "pt", "Ana")
    pt2 = server.viewer(room, "pt", "Bia")
    texts = ["amei o Glow Kit 😍", "o Lip Oil é caro demais 🤔", "quanto custa o Glow Kit",
             "Glow Kit 🔥🔥"]
    for text in texts:
        pt.comment(text)
    for text in texts:
        en.expect_comment(text)
    pt2.expect(lambda f: f["type"] == "comment" and f["original"] == texts[-1])
    body = server.get(f"/v1/rooms/{room}/insights").json()
    assert body["viewers"] == {"en": 1, "pt": 2} and body["viewers_total"] == 3
    assert body["comments"]["in_window"] == 4 and body["comments"]["last_minute"] == 4
    assert body["comments"]["per_minute"][-1] == 4 and body["window_s"] == 300
    assert body["languages"] == {"pt": 4}
    assert body["questions"] == 1
    assert body["top_terms"] == [{"term": "Glow Kit", "mentions": 3},
                                 {"term": "Lip Oil", "mentions": 1}]
    assert body["mood"]["scores"]["excitement"] == 2
    assert body["mood"]["scores"]["curiosity"] == 2  # 🤔 and the question
    assert body["mood"]["scores"]["hesitation"] == 1
    assert body["mood"]["dominant"] == "mixed"


def test_insights_and_console_refuse_bad_input(server: LiveServer) -> None:
    bad = server.get("/v1/rooms/bad room!/insights")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_room"
    bad_lang = server.get("/v1/rooms/r1/insights?lang=klingon")
    assert bad_lang.status_code == 400 and "lang" in bad_lang.json()["error"]["message"]
    empty = server.get("/v1/rooms/never-used-room/insights").json()
    assert empty["comments"]["in_window"] == 0 and empty["mood"]["dominant"] == "calm"
    page = server.get("/host/demo?key=x")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/host.js" in page.text
    assert server.get("/host/bad room!").status_code == 400
