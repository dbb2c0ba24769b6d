"""Prometheus metrics of one process, in a registry the app owns (no global registry).

Counters the parts already keep (connections, drops, direct writes, translation snapshot) are
read at scrape time from one ``StatsSnapshot`` (``web.stats``, which ``/v1/stats`` renders
too), so the hot paths pay nothing for them; comment, translation, fan-out and delivery
latencies, frames fanned out (counted once per group, not per viewer) and language-ID outcomes
are observed as they happen: ``GatewayMetrics`` is the pipeline's ``PipelineObserver`` and the
rooms' ``FanoutObserver``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from babelcast.gateway.events import CommentPublished
from babelcast.gateway.web.stats import StatsSnapshot

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FANOUT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class GatewayMetrics:
    """What ``/metrics`` serves. ``snapshot`` reads the process's counters at scrape time."""

    def __init__(self, snapshot: Callable[[], StatsSnapshot]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.comments = Counter("babelcast_comments", "Comments accepted and published",
                                registry=self.registry)
        self.publish_seconds = Histogram(
            "babelcast_comment_publish_seconds",
            "From a comment's arrival to its publication (language ID, the translation wait, "
            "the bus)", buckets=LATENCY_BUCKETS, registry=self.registry)
        self.translation_seconds = Histogram(
            "babelcast_translation_seconds",
            "One (comment, target language) translation, by outcome (translated or the "
            "reason it was not)", ["outcome"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.frames_out = Counter(
            "babelcast_frames_out", "Room frames fanned out to viewers (comments, "
            "translations, deletes, pins), one per viewer", registry=self.registry)
        self.fanout_seconds = Histogram(
            "babelcast_fanout_seconds", "One room event handed to every local viewer (frames "
            "built once per language, written or queued)", buckets=FANOUT_BUCKETS,
            registry=self.registry)
        self.delivery_seconds = Histogram(
            "babelcast_delivery_seconds",
            "From a comment's publication to the end of its fan-out on this node (the bus, "
            "then the fan-out): once for the groups that read it at once, once more for each "
            "group it was held back from for a translation", buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self.langid = Counter("babelcast_langid", "Language-ID decisions by the rule that "
                              "decided", ["reason"], registry=self.registry)
        self.registry.register(_SnapshotCollector(snapshot))
        # CPU seconds, resident memory and open fds of this process (Linux): what a load test
        # run from another machine (`bench e2e --target`) reads the gateway's usage from.
        ProcessCollector(registry=self.registry)

    def language_detected(self, reason: str) -> None:
        """Language ID decided by the rule ``reason`` (``PipelineObserver``)."""
        self.langid.labels(reason).inc()

    def comment_published(self, seconds: float) -> None:
        """A comment published ``seconds`` after it arrived (``PipelineObserver``)."""
        self.comments.inc()
        self.publish_seconds.observe(seconds)

    def translation_done(self, outcome: str, seconds: float) -> None:
        """One translation, by outcome (``PipelineObserver``)."""
        self.translation_seconds.labels(outcome).observe(seconds)

    def room_event(self, event: object, frames: int, seconds: float) -> None:
        """One room event fanned out on this node: ``frames`` frames in ``seconds``
        (``FanoutObserver``)."""
        self.frames_out.inc(frames)
        self.fanout_seconds.observe(seconds)
        if isinstance(event, CommentPublished) and frames:
            # ts is the wall clock at publication (on whichever node published it).
            self.delivery_seconds.observe(max(0.0, time.time() - event.message.ts))

    def held_released(self, frames: int, published_ts: float) -> None:
        """A comment held back from a language group for its translation went out to it in
        ``frames`` frames (with its translation, or pending when the wait ran out)."""
        self.frames_out.inc(frames)
        self.delivery_seconds.observe(max(0.0, time.time() - published_ts))

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)


class _SnapshotCollector(Collector):
    """Renders the process's counters from one stats snapshot at scrape time."""

    def __init__(self, snapshot: Callable[[], StatsSnapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot()
        v = snap.viewers
        if v is not None:
            yield GaugeMetricFamily("babelcast_connections", "Open viewer connections",
                                    value=v.connections)
            yield GaugeMetricFamily("babelcast_rooms", "Rooms with viewers on this node",
                                    value=v.rooms)
            yield GaugeMetricFamily("babelcast_send_queue_frames", "Frames queued for "
                                    "viewers that are behind", value=v.queued_frames)
            yield CounterMetricFamily("babelcast_frames_dropped", "Oldest frames dropped from "
                                      "full send queues", value=v.frames_dropped)
            yield CounterMetricFamily("babelcast_frames_direct", "Frames written straight to "
                                      "an idle viewer's socket", value=v.frames_direct)
            yield CounterMetricFamily("babelcast_frames_joined", "Direct frames that went out "
                                      "in one write with an earlier frame to the same viewer "
                                      "(send() calls saved)", value=v.frames_joined)
            yield CounterMetricFamily("babelcast_slow_consumers_closed", "Viewers closed for "
                                      "not reading", value=v.slow_consumers_closed)
            yield CounterMetricFamily("babelcast_bad_frames", "Client frames refused with an "
                                      "error", value=v.bad_frames)
            yield CounterMetricFamily("babelcast_rate_limited", "Client frames refused by the "
                                      "rate limit", value=v.rate_limited)
            yield CounterMetricFamily("babelcast_handshakes_refused", "WebSocket handshakes "
                                      "refused before accept (origin, per-IP limits, token)",
                                      value=v.handshakes_refused)
            moderation = CounterMetricFamily("babelcast_moderated_comments", "Comments "
                                             "moderation refused, deleted late or could not "
                                             "check, by outcome", labels=["outcome"])
            for outcome, count in v.moderation.items():
                moderation.add_metric([outcome], count)
            yield moderation
            yield GaugeMetricFamily("babelcast_degraded", "1 while the shared bus (Redis) is "
                                    "failing", value=int(v.degraded))
        yield CounterMetricFamily("babelcast_handshakes_timed_out", "Connections closed for "
                                  "not sending a whole request (or WebSocket upgrade request) "
                                  "within handshake_timeout_s", value=snap.handshakes_timed_out)
        translation = snap.translation
        if translation is not None:
            for key, value in translation.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                yield GaugeMetricFamily(f"babelcast_translation_{key}",
                                        f"Translation service: {key.replace('_', ' ')}",
                                        value=value)
            sizes = translation.get("batch_sizes")
            if isinstance(sizes, dict):
                family = GaugeMetricFamily("babelcast_translation_batches_by_size",
                                           "Engine batches by number of texts", labels=["size"])
                for size, count in sizes.items():
                    family.add_metric([str(size)], count)
                yield family
