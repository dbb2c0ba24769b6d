"""Reactions and likes on one node, through real WebSockets: aggregated into a bounded number
of ``reactions`` frames whose counts add up, their own rate limit, and bad input."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

from tests.harness import Frame, LiveServer, Viewer, live_server

INTERVAL_MS = 200


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with live_server(reaction_interval_ms=INTERVAL_MS, reaction_rate_per_s=1000.0,
                     reaction_burst=200) as s:
        yield s


def hearts_until(v: Viewer, total: int, timeout: float = 20.0) -> list[Frame]:
    """The ``reactions`` frames ``v`` receives until their stream hearts add up to
    ``total``."""
    frames: list[Frame] = []
    seen = 0
    while seen < total:
        frame = v.expect(lambda f: f["type"] == "reactions", timeout)
        frames.append(frame)
        seen += frame["counts"].get("heart", 0)
    assert seen == total
    return frames


def test_likes_of_three_viewers_arrive_summed_in_few_frames(server: LiveServer) -> None:
    viewers = [server.viewer("likes", lang, f"fan{i}")
               for i, lang in enumerate(("en", "pt", "ko"))]
    assert viewers[0].welcome["reactions"] == ["heart", "fire", "laugh", "wow", "clap"]
    started = time.monotonic()
    for _ in range(50):
        for v in viewers:
            v.send({"type": "react", "reaction": "heart"})
    received = [hearts_until(v, 150) for v in viewers]
    elapsed = time.monotonic() - started
    bound = math.ceil(elapsed * 1000 / INTERVAL_MS) + 1
    for frames in received:
        assert 1 <= len(frames) <= bound < 150  # never one frame per like
        assert all(f["room"] == "likes" and f["interval_ms"] == INTERVAL_MS
                   and f["comments"] == {} for f in frames)
    # Everyone got the same frames (they carry no language).
    assert received[0] == received[1] == received[2]
    # No error, and nothing more: the counts are complete.
    viewers[0].send({"type": "ping", "client_id": "p"})
    viewers[0].expect(lambda f: f["type"] == "pong")
    assert not [f for f in viewers[0].frames if f["type"] == "error"]


def test_reactions_to_a_comment_are_counted_by_its_id(server: LiveServer) -> None:
    a = server.viewer("on-comment", "en", "a")
    b = server.viewer("on-comment", "en", "b")
    a.comment("look at this", client_id="c1")
    mid = a.expect(lambda f: f["type"] == "ack")["id"]
    b.expect_comment("look at this")
    b.send({"type": "react", "reaction": "fire", "target": mid})
    b.send({"type": "react", "reaction": "fire", "target": mid})
    a.send({"type": "react", "reaction": "wow", "target": mid})
    comments: dict[str, int] = {}
    while sum(comments.values()) < 3:
        frame = a.expect(lambda f: f["type"] == "reactions")
        assert frame["counts"] == {}
        for reaction, n in frame["comments"][mid].items():
            comments[reaction] = comments.get(reaction, 0) + n
    assert comments == {"fire": 2, "wow": 1}


def test_bad_reactions_get_a_clear_error_and_nothing_else(server: LiveServer) -> None:
    v = server.viewer("bad-react", "en", "v")
    cases = [({"type": "react", "reaction": "poop", "client_id": "r1"}, "unknown_reaction"),
             ({"type": "react", "target": "999", "client_id": "r2"}, "not_found"),
             ({"type": "react", "target": 17, "client_id": "r3"}, "invalid_field"),
             ({"type": "react", "reaction": ["heart"], "client_id": "r4"}, "invalid_field")]
    for frame, code in cases:
        v.send(frame)
        error = v.expect_error()
        assert (error["code"], error["client_id"]) == (code, frame["client_id"])
    # The connection is fine and nothing was counted: a good like is the only count.
    v.send({"type": "react"})
    assert hearts_until(v, 1)[0]["counts"] == {"heart": 1}
    v.comment("still here", client_id="c")
    assert v.expect(lambda f: f["type"] == "ack")["client_id"] == "c"


def test_the_room_narrows_its_reactions_over_rest(server: LiveServer) -> None:
    bad = server.put("/v1/rooms/narrow/settings", json={"reactions": ["heart", "poop"]})
    assert bad.status_code == 400 and "'reactions'" in bad.json()["error"]["message"]
    got = server.put("/v1/rooms/narrow/settings", json={"reactions": ["clap"]})
    assert got.status_code == 200 and got.json()["reactions"] == ["clap"]
    v = server.viewer("narrow", "en", "v")
    assert v.welcome["reactions"] == ["clap"]
    v.send({"type": "react", "client_id": "h"})  # heart: not this room's
    error = v.expect_error()
    assert error["code"] == "unknown_reaction" and "clap" in error["message"]
    v.send({"type": "react", "reaction": "clap"})
    assert v.expect(lambda f: f["type"] == "reactions")["counts"] == {"clap": 1}


def test_a_like_flood_is_cut_with_one_error_and_comments_keep_their_budget() -> None:
    with live_server(reaction_interval_ms=INTERVAL_MS) as server:  # 10/s, bursts of 20
        v = server.viewer("flood", "en", "v")
        started = time.monotonic()
        for i in range(60):
            v.send({"type": "react", "client_id": f"r{i}"})
        v.comment("likes do not spend my comments", client_id="c")
        assert v.expect(lambda f: f["type"] == "ack")["client_id"] == "c"
        errors = [f for f in v.frames if f["type"] == "error"]
        assert len(errors) == 1 and errors[0]["code"] == "rate_limited"
        assert "reactions" in errors[0]["message"]
        refill = math.ceil((time.monotonic() - started) * 10) + 1
        counted = server.gateway.reactions.stats.accepted
        assert 20 <= counted <= 20 + refill
        assert server.gateway.reactions.stats.dropped == 60 - counted
        hearts_until(v, counted)
        assert server.get("/v1/stats").json()["reactions"]["dropped"] == 60 - counted
