"""Reactions, aggregated: the tally, the per-room window's pacing (an injected clock), the
aggregator's checks and flushes (a fake bus), the wire frames and the room settings field."""

from __future__ import annotations

import asyncio

import pytest

from babelcast.gateway.chat.reactions import (
    ReactionAggregator,
    ReactionRefused,
    ReactionTally,
    ReactionWindow,
)
from babelcast.gateway.chat.room_settings import reaction_changes
from babelcast.gateway.events import ReactionsCounted
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.client import InputLimits, ReactIn, parse_client_frame
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.server import reactions_frame


class FakeBus:
    def __init__(self, messages: set[int] | None = None) -> None:
        self.published: list[ReactionsCounted] = []
        self.messages = messages or set()

    async def publish_reactions(self, partial: ReactionsCounted) -> None:
        self.published.append(partial)

    async def has_message(self, room: str, message_id: int) -> bool:
        return message_id in self.messages


class Settings:
    def __init__(self) -> None:
        self.rooms: dict[str, RoomSettings] = {}
        self.reads = 0

    async def get(self, room: str) -> RoomSettings:
        self.reads += 1
        return self.rooms.get(room) or RoomSettings()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tally_counts_per_room_and_target_and_starts_over_when_taken() -> None:
    tally = ReactionTally()
    for _ in range(3):
        tally.add("a", "heart")
    tally.add("a", "fire", 17)
    tally.add("b", "clap")
    taken = {t.room: t for t in tally.take_all()}
    assert taken["a"] == ReactionsCounted("a", {"heart": 3}, {17: {"fire": 1}})
    assert taken["b"] == ReactionsCounted("b", {"clap": 1}, {})
    assert not tally and tally.take_all() == []


def test_window_sums_partials_and_sends_at_most_one_frame_per_interval() -> None:
    window = ReactionWindow("a", 0.5)
    assert window.due_in(0.0) is None  # nothing to send
    window.add(ReactionsCounted("a", {"heart": 2}))
    assert window.due_in(10.0) == 0.0  # none went out lately: at once
    assert window.take(10.0) == ReactionsCounted("a", {"heart": 2}, {})
    # Two nodes' partials within the interval: one frame, at its end, with their sum.
    window.add(ReactionsCounted("a", {"heart": 5}, {3: {"wow": 1}}))
    window.add(ReactionsCounted("a", {"heart": 1, "fire": 2}, {3: {"wow": 2}}))
    assert window.due_in(10.1) == pytest.approx(0.4)
    assert window.take(10.5) == ReactionsCounted("a", {"heart": 6, "fire": 2}, {3: {"wow": 3}})
    assert window.due_in(10.6) is None and window.take(10.6) is None


def test_aggregator_publishes_one_partial_per_room_per_flush() -> None:
    async def run() -> None:
        bus = FakeBus({17})
        agg = ReactionAggregator(bus, Settings(), 0.5)
        for _ in range(40):
            await agg.react("a", "heart", None)
        await agg.react("a", "fire", 17)
        await agg.react("b", "clap", None)
        assert bus.published == []  # nothing goes out per like
        assert await agg.flush() == 2
        assert sorted(bus.published, key=lambda p: p.room) == [
            ReactionsCounted("a", {"heart": 40}, {17: {"fire": 1}}),
            ReactionsCounted("b", {"clap": 1}, {})]
        assert await agg.flush() == 0 and len(bus.published) == 2  # quiet: nothing
        assert agg.stats.accepted == 42 and agg.stats.published == 2

    asyncio.run(run())


def test_aggregator_refuses_unknown_reactions_and_targets_counting_nothing() -> None:
    async def run() -> None:
        bus, settings, clock = FakeBus({17}), Settings(), Clock()
        agg = ReactionAggregator(bus, settings, 0.5, settings_ttl_s=1.0, clock=clock)
        with pytest.raises(ReactionRefused) as refused:
            await agg.react("a", "poop", None)
        assert refused.value.code == codes.UNKNOWN_REACTION
        assert "heart, fire, laugh, wow, clap" in refused.value.message
        with pytest.raises(ReactionRefused) as refused:
            await agg.react("a", "heart", 18)
        assert refused.value.code == codes.NOT_FOUND
        # The room narrows its set: seen once the cached settings are older than the TTL.
        settings.rooms["a"] = RoomSettings(reactions=("clap",))
        await agg.react("a", "heart", None)
        clock.now += 1.5
        with pytest.raises(ReactionRefused):
            await agg.react("a", "heart", None)
        await agg.react("a", "clap", None)
        settings.rooms["a"] = RoomSettings(reactions=())
        clock.now += 1.5
        with pytest.raises(ReactionRefused, match="reactions are off"):
            await agg.react("a", "clap", None)
        assert settings.reads == 3  # one per TTL, not one per like
        await agg.flush()
        assert bus.published == [ReactionsCounted("a", {"heart": 1, "clap": 1}, {})]
        assert agg.stats.refused == 4

    asyncio.run(run())


def test_aggregator_runs_and_flushes_what_is_left_on_close() -> None:
    async def run() -> None:
        bus = FakeBus()
        agg = ReactionAggregator(bus, Settings(), 0.01)
        agg.start()
        await agg.react("a", "heart", None)
        while not bus.published:
            await asyncio.sleep(0.01)
        await agg.react("a", "wow", None)
        await agg.close()
        assert bus.published == [ReactionsCounted("a", {"heart": 1}, {}),
                                 ReactionsCounted("a", {"wow": 1}, {})]

    asyncio.run(run())


def parse(frame: str) -> object:
    return parse_client_frame(frame, Codec.JSON, InputLimits())


def test_react_frames_parse_and_bad_fields_are_named() -> None:
    assert parse('{"type":"react"}') == ReactIn("heart", None, None)
    assert parse('{"type":"react","reaction":"fire","target":"17","client_id":"r1"}') == \
        ReactIn("fire", 17, "r1")
    for bad, field in (('{"type":"react","reaction":5}', "'reaction'"),
                       ('{"type":"react","reaction":"HEART!"}', "'reaction'"),
                       ('{"type":"react","target":17}', "'target'"),
                       ('{"type":"react","target":"~3"}', "'target'")):
        with pytest.raises(ProtocolError) as exc:
            parse(bad)
        assert exc.value.code == codes.INVALID_FIELD and field in exc.value.message


def test_reactions_frame_has_string_ids_and_no_language() -> None:
    assert reactions_frame("demo", {"heart": 12}, {17: {"heart": 3}}, 500) == {
        "type": "reactions", "room": "demo", "counts": {"heart": 12},
        "comments": {"17": {"heart": 3}}, "interval_ms": 500}


def test_room_settings_reactions_field() -> None:
    assert RoomSettings().reactions == codes.REACTIONS
    assert reaction_changes({"reactions": ["clap", "heart", "clap"]}) == {
        "reactions": ("clap", "heart")}
    assert reaction_changes({"reactions": []}) == {"reactions": ()}
    assert reaction_changes({"glossary": None}) == {}
    for bad in (["poop"], "heart", [1]):
        with pytest.raises(ValueError, match="'reactions'"):
            reaction_changes({"reactions": bad})
    narrowed = RoomSettings(reactions=("heart",))
    assert RoomSettings.from_list(narrowed.to_list()) == narrowed
    # Stored before reactions existed: every reaction.
    assert RoomSettings.from_list(RoomSettings().to_list()[:8]).reactions == codes.REACTIONS
