"""Reactions on two gateway nodes sharing a room through a real Redis: every viewer, on
either node, sees the likes of both nodes summed."""

from __future__ import annotations

from babelcast.gateway.bus.redis import redis_backend
from tests.harness import Viewer, live_server


def stream_hearts(v: Viewer, total: int) -> int:
    frames = 0
    seen = 0
    while seen < total:
        seen += v.expect(lambda f: f["type"] == "reactions")["counts"].get("heart", 0)
        frames += 1
    assert seen == total
    return frames


def test_likes_on_both_nodes_are_summed_for_viewers_on_both(redis_url: str) -> None:
    kw = {"reaction_interval_ms": 200, "reaction_rate_per_s": 1000.0, "reaction_burst": 200}
    with live_server(backend=redis_backend(redis_url), **kw) as a, \
            live_server(backend=redis_backend(redis_url), **kw) as b:
        on_a = [a.viewer("cluster-likes", "en", f"a{i}") for i in range(2)]
        on_b = [b.viewer("cluster-likes", "pt", f"b{i}") for i in range(2)]
        # (Each node subscribed to the room before its viewers' welcome.)
        for _ in range(30):
            for v in on_a:
                v.send({"type": "react"})
        for _ in range(20):
            for v in on_b:
                v.send({"type": "react"})
        for v in on_a + on_b:
            assert stream_hearts(v, 100) < 100  # summed, and never one frame per like
        for node in (a, b):
            assert node.gateway.reactions.stats.published >= 1
