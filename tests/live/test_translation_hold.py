"""A comment goes out before it is translated: readers of its own language get it at once, and
each language group waiting for a translation gets it once, translated, when that arrives
(gateway.room). The engine here blocks until the test lets it go, so "not yet" is exact."""

from __future__ import annotations

import threading

from tests.harness import live_server

KEY = "hold-test-key"


class GatedEngine:
    """Translates only once ``release`` is set."""

    name = "gated"

    def __init__(self) -> None:
        self.release = threading.Event()

    def supports(self, src: str, tgt: str) -> bool:
        return True

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        assert self.release.wait(30), "the test never released the engine"
        return [f"[{tgt}] {t}" for t in texts]


def ids_of(frames: list[dict], kind: str) -> list[str]:
    return [f["id"] for f in frames if f["type"] == kind]


def pong(viewer) -> None:  # type: ignore[no-untyped-def]
    """Round trip: every frame queued to ``viewer`` before this has been read."""
    viewer.send({"type": "ping", "client_id": "sync"})
    viewer.expect(lambda f: f["type"] == "pong")


def test_own_language_at_once_others_once_translated_in_readable_order() -> None:
    engine = GatedEngine()
    with live_server(engines=[engine], translation_wait_ms=30_000) as srv:
        en = srv.viewer("hold", "en", "Bob")
        pt = srv.viewer("hold", "pt", "Ana")
        en.comment("Does it come in red?")
        red = en.expect_comment("Does it come in red?")
        assert red["pending"] is False and red["translated"] is False
        # An emoji-only comment needs no translation: both groups get it at once, so the
        # Portuguese reader reads it before the earlier English comment still being translated.
        pt.comment("😍😍")
        emoji = pt.expect_comment("😍😍")
        en.expect_comment("😍😍")
        assert red["id"] not in ids_of(pt.frames, "comment")

        engine.release.set()
        got = pt.expect_comment(red["id"])
        assert got["text"] == "[pt] Does it come in red?"
        assert got["translated"] is True and got["pending"] is False
        pong(pt)
        assert ids_of(pt.frames, "comment") == [emoji["id"], red["id"]]
        assert ids_of(pt.frames, "translation") == []  # one frame, not original + translation
        pong(en)
        assert ids_of(en.frames, "comment") == [red["id"], emoji["id"]]


def test_hold_ends_after_the_wait_with_the_original_pending() -> None:
    engine = GatedEngine()
    with live_server(engines=[engine], translation_wait_ms=100) as srv:
        en = srv.viewer("hold", "en", "Bob")
        pt = srv.viewer("hold", "pt", "Ana")
        en.comment("Is shipping free?")
        got = pt.expect_comment("Is shipping free?")
        assert got["pending"] is True and got["text"] == "Is shipping free?"
        engine.release.set()
        done = pt.expect(lambda f: f["type"] == "translation" and f["id"] == got["id"])
        assert done["text"] == "[pt] Is shipping free?" and done["translated"] is True


def test_resume_repeats_a_comment_that_was_still_held() -> None:
    engine = GatedEngine()
    with live_server(engines=[engine], translation_wait_ms=30_000) as srv:
        en = srv.viewer("hold", "en", "Bob")
        pt = srv.viewer("hold", "pt", "Ana")
        other_pt = srv.viewer("hold", "pt", "Cy")
        en.comment("Does it come in red?")
        red = en.expect_comment("Does it come in red?")
        pt.comment("😍😍")
        last_seen = pt.expect_comment("😍😍")["id"]
        epoch = pt.welcome["epoch"]
        pt.close()  # it leaves having seen id 2 but not the held id 1

        engine.release.set()
        other_pt.expect_comment(red["id"])  # the translation has been published
        back = srv.viewer("hold", "pt", "Ana", since=last_seen,
                          query=f"lang=pt&name=Ana&epoch={epoch}")
        history = back.welcome["history"]
        assert [f["id"] for f in history] == [red["id"]]
        assert history[0]["text"] == "[pt] Does it come in red?"
        assert back.welcome["gap"] is False


def test_a_comment_deleted_while_held_never_reaches_the_waiting_group() -> None:
    engine = GatedEngine()
    with live_server(engines=[engine], translation_wait_ms=30_000, host_key=KEY) as srv:
        host = srv.viewer("hold", query=f"lang=en&name=Host&role=host&host_key={KEY}")
        pt = srv.viewer("hold", "pt", "Ana")
        host.comment("Does it come in red?")
        red = host.expect_comment("Does it come in red?")
        room = srv.gateway.rooms.rooms["hold"]
        assert room.held_back == 1
        host.send({"type": "delete", "id": red["id"], "client_id": "d1"})
        assert pt.expect(lambda f: f["type"] == "deleted")["id"] == red["id"]
        assert room.held_back == 0  # dropped in the same dispatch as the deleted frame
        engine.release.set()
        host.comment("still here?")
        pt.expect_comment("still here?")
        pong(pt)
        assert red["id"] not in ids_of(pt.frames, "comment")
