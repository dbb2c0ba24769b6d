"""/metrics in the Prometheus text format, read back with prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.harness import LiveServer


def samples(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = server.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_comments_translations_and_connections(server: LiveServer,
                                                             room: str) -> None:
    before = samples(server)
    en = server.viewer(room, "en")
    pt = server.viewer(room, "pt")
    en.comment("Does this come in red?")
    pt.expect_final("Does this come in red?")
    pt.comment("😍😍")
    en.expect_comment("😍😍")
    after = samples(server)

    def grew(name: str, *labels: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels)))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("babelcast_comments_total") == 2
    assert grew("babelcast_comment_publish_seconds_count") == 2
    assert grew("babelcast_translation_seconds_count", ("outcome", "translated")) >= 1
    assert grew("babelcast_langid_total", ("reason", "und")) == 1
    # Fan-out: both comments reached both viewers; each delivery was timed: the English
    # one to en at once and to pt when its translation came, the emoji one to both at once.
    assert grew("babelcast_delivery_seconds_count") == 3
    assert grew("babelcast_fanout_seconds_count") >= 2
    assert grew("babelcast_frames_out_total") >= 4
    assert after[("babelcast_connections", ())] >= 2
    assert after[("babelcast_degraded", ())] == 0
    assert after[("babelcast_translation_requests", ())] >= 1
    # The process's own usage, which a load test run from another machine reads.
    assert after[("process_cpu_seconds_total", ())] > 0
    assert after[("process_resident_memory_bytes", ())] > 0
    assert after[("process_open_fds", ())] >= 2
