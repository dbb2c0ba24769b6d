"""Moderation without a server: the skeleton the blocklist is matched on (leetspeak,
diacritics, spacing tricks, look-alikes), word boundaries (the Scunthorpe problem), the
default lists, room settings validation, and the room gate's slow mode and shedding order
under a fake clock."""

from __future__ import annotations

import pytest

from babelcast.gateway.chat.moderation import (
    DEFAULT_LISTS,
    REPEAT_WINDOW_S,
    Blocklist,
    BlocklistCache,
    CommentKind,
    CommentRefused,
    ModerationStats,
    RoomCommentGate,
    default_entries,
    is_emoji_only,
    skeleton,
    validate_entries,
)
from babelcast.gateway.chat.room_settings import moderation_changes
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.wire import codes


@pytest.mark.parametrize("text, expected", [
    ("Spam", "spam"),
    ("SPAM!!!", "spam"),
    ("sssspaaaam", "spam"),
    ("s.p.a.m", "spam"),
    ("s p a m", "spam"),
    ("s-p_a*m", "spam"),
    ("5p4m", "spam"),
    ("$p@m", "spam"),
    ("ＳＰＡＭ", "spam"),  # full-width
    ("𝐬𝐩𝐚𝐦", "spam"),  # mathematical bold
    ("ѕрам", "spam"),  # Cyrillic look-alikes
    ("spa\u200bm", "spam"),  # zero-width space
    ("spa\u0301m", "spam"),  # combining accent
    ("grátis", "gratis"),
    ("idi0t", "idiot"),
    ("f r e e   f0ll0wers", "fre foiowers"),
    ("", ""),
    ("😀😀", ""),
])
def test_skeleton_undoes_evasions(text: str, expected: str) -> None:
    assert skeleton(text) == expected


@pytest.mark.parametrize("text", [
    "you are an idiot", "IDIOT", "id10t", "i.d.i.o.t", "iiidiooot", "ídíót", "@idiot!",
    "idiot\u200b", "ｉｄｉｏｔ", "іdіоt",  # Cyrillic і and о
])
def test_blocklist_catches_variants(text: str) -> None:
    assert Blocklist(["idiot"]).find(text) == "idiot"


@pytest.mark.parametrize("text", [
    "get FREE FOLLOWERS now", "free   followers", "fr33 f0ll0w3rs", "freefollowers",
    "f.r.e.e followers",
])
def test_phrases_match_across_spacing(text: str) -> None:
    assert Blocklist(["free followers"]).find(text) == "free followers"


@pytest.mark.parametrize("blocked, innocent", [
    ("scam", "scampi and shrimp"),
    ("hell", "hello, shell, Michelle"),
    ("cock", "a peacock and a cockpit"),
    ("tit", "the title of the petition"),
    ("idiot", "idiotic question? idiotism?"),
    ("free followers", "freedom followers"),
    ("spam", "spammer"),
])
def test_innocent_words_containing_a_blocked_word_pass(blocked: str, innocent: str) -> None:
    """The Scunthorpe problem: entries match whole words of the skeleton only."""
    blocklist = Blocklist([blocked])
    assert blocklist.find(innocent) is None
    assert blocklist.find(f"{innocent} {blocked.upper()}") == blocked


def test_hangul_entries_match_with_particles_attached() -> None:
    blocklist = Blocklist(["바보"])
    assert blocklist.find("너 바보야") == "바보"
    assert blocklist.find("정말 좋아요") is None


def test_empty_and_unmatchable_blocklists() -> None:
    assert Blocklist([]).find("anything") is None
    assert Blocklist(["!!!"]).find("!!!") is None  # no letters: no skeleton to match
    assert len(Blocklist(["a", "a", "b"])) == 2


@pytest.mark.parametrize("lang", DEFAULT_LISTS)
def test_default_lists_load_and_match_their_own_entries(lang: str) -> None:
    entries = default_entries(lang)
    assert len(entries) >= 10
    blocklist = Blocklist(entries)
    for entry in entries:
        assert blocklist.find(f"ok {entry} ok") is not None, entry
    assert blocklist.find("hello, how much is this lipstick?") is None
    assert default_entries("xx") == ()


def test_default_lists_leave_ordinary_chat_alone() -> None:
    every = Blocklist([e for lang in DEFAULT_LISTS for e in default_entries(lang)])
    for text in ["I love this lipstick", "quanto custa o frete?", "¿tienen envío gratis?",
                 "이 립스틱 얼마예요?", "is it free shipping?", "as is", "link please",
                 "what a classic class", "obrigada pela live", "grátis o frete?"]:
        assert every.find(text) is None, text


def test_blocklist_cache_combines_own_and_default_entries() -> None:
    cache = BlocklistCache(max_lists=2)
    assert cache.get((), ()) is None
    assert cache.get((), ["xx"]) is None  # no default list for xx
    both = cache.get(("banana",), ["en", "pt"])
    assert both is not None and both.find("banana") and both.find("idiota")
    assert cache.get(("banana",), ["pt", "en", "pt"]) is both  # built once
    own = cache.get(("banana",), ())
    assert own is not None and own.find("idiot") is None


def test_validate_entries() -> None:
    assert validate_entries(["  free   stuff ", "x", "x"]) == ("free stuff", "x")
    for bad, says in [("idiot", "must be a list"), ([1], r"blocklist\[0\]"), ([""], "1-100"),
                      (["a" * 101], "1-100"), (["!!"], "no letters"),
                      (["x"] * 501, "at most 500")]:
        with pytest.raises(ValueError, match=says):
            validate_entries(bad)


def test_room_settings_moderation_fields_validate_and_round_trip() -> None:
    changes = moderation_changes({"blocklist": ["banana"], "use_default_blocklist": False,
                                  "moderation_lang": "pt-BR", "slow_mode_s": 2,
                                  "max_comments_per_s": 10})
    settings = RoomSettings(**changes)
    assert settings.moderation_lang == "pt" and settings.slow_mode_s == 2.0
    assert RoomSettings.from_list(settings.to_list()) == settings
    assert RoomSettings.from_list([None, ["en"]]) == RoomSettings(languages=("en",))
    assert RoomSettings().to_json()["use_default_blocklist"] is True
    for bad, says in [({"use_default_blocklist": "yes"}, "true or false"),
                      ({"moderation_lang": "english!"}, "ISO 639-1"),
                      ({"slow_mode_s": -1}, "from 0"), ({"slow_mode_s": True}, "from 0"),
                      ({"slow_mode_s": 4000}, "3600"),
                      ({"max_comments_per_s": 1.5}, "whole number"),
                      ({"max_comments_per_s": -1}, "whole number")]:
        with pytest.raises(ValueError, match=says):
            moderation_changes(bad)


def test_a_whole_number_sent_as_a_json_float_is_accepted() -> None:
    # JSON (and JSON Schema's "integer", which the OpenAPI document uses) has one number
    # type: 10.0 is the whole number 10; schemathesis sent it and got a 400.
    changes = moderation_changes({"max_comments_per_s": 10.0})
    assert changes == {"max_comments_per_s": 10}
    assert type(changes["max_comments_per_s"]) is int


def test_emoji_only() -> None:
    assert is_emoji_only("😀🔥 !!")
    assert not is_emoji_only("😀 ok")
    assert not is_emoji_only("😀 1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused(gate: RoomCommentGate, stats: ModerationStats, user: str, text: str, *,
            privileged: bool = False, slow: float = 0.0, cap: int = 0) -> str | None:
    """The refusal code, or None when the gate let the comment through."""
    try:
        gate.admit(user, text, privileged=privileged, slow_mode_s=slow, max_per_s=cap,
                   stats=stats)
    except CommentRefused as exc:
        return exc.code
    return None


def test_slow_mode_per_user_with_retry_after_and_host_exempt() -> None:
    clock, stats = FakeClock(), ModerationStats()
    gate = RoomCommentGate(clock)
    assert refused(gate, stats, "ana", "one", slow=5) is None
    assert refused(gate, stats, "bob", "one", slow=5) is None  # another user
    clock.now += 2
    with pytest.raises(CommentRefused) as info:
        gate.admit("ana", "two", privileged=False, slow_mode_s=5, max_per_s=0, stats=stats)
    assert info.value.code == codes.SLOW_MODE and info.value.retry_after_s == pytest.approx(3)
    assert "wait 3.0 s" in info.value.message
    frame = info.value.protocol_error("c9").frame()
    assert frame["code"] == "slow_mode" and frame["retry_after_s"] == pytest.approx(3)
    assert frame["client_id"] == "c9"
    for _ in range(3):
        assert refused(gate, stats, "host", "hi", privileged=True, slow=5) is None
    clock.now += 3
    assert refused(gate, stats, "ana", "two", slow=5) is None
    assert stats.slow_mode == 1


def test_rate_cap_sheds_repeats_then_emoji_then_others_never_the_host() -> None:
    clock, stats = FakeClock(), ModerationStats()
    gate = RoomCommentGate(clock)
    cap = 10
    # Under half the cap everything passes, repeats included.
    assert [refused(gate, stats, f"u{i}", "buy now", cap=cap) for i in range(3)] == [None] * 3
    assert refused(gate, stats, "u3", "q1", cap=cap) is None
    assert refused(gate, stats, "u4", "q2", cap=cap) is None  # 5 admitted: half the cap
    assert refused(gate, stats, "u5", "BUY NOW!!", cap=cap) == codes.ROOM_BUSY  # a repeat
    assert refused(gate, stats, "u6", "😀", cap=cap) is None  # emoji: shed from 8
    assert refused(gate, stats, "u7", "q3", cap=cap) is None
    assert refused(gate, stats, "u8", "q4", cap=cap) is None  # 8 admitted
    assert refused(gate, stats, "u9", "🔥🔥", cap=cap) == codes.ROOM_BUSY
    assert refused(gate, stats, "u10", "q5", cap=cap) is None
    assert refused(gate, stats, "u11", "q6", cap=cap) is None  # 10: the cap
    assert refused(gate, stats, "u12", "q7", cap=cap) == codes.ROOM_BUSY
    for _ in range(5):  # the host is never shed, even a repeat, even over the cap
        assert refused(gate, stats, "host", "welcome!", privileged=True, cap=cap) is None
    assert (stats.shed_repeat, stats.shed_emoji, stats.shed_other) == (1, 1, 1)
    clock.now += 1.0  # the window moved on: room for everyone again
    assert refused(gate, stats, "u12", "q7", cap=cap) is None


def test_repeats_are_remembered_for_a_window() -> None:
    clock = FakeClock()
    gate = RoomCommentGate(clock)
    assert gate.classify("Hello", clock.now) is CommentKind.OTHER
    assert gate.classify("h e l l o", clock.now + 1) is CommentKind.REPEAT
    assert gate.classify("hello", clock.now + 1 + REPEAT_WINDOW_S) is CommentKind.OTHER
    assert gate.classify("😀", clock.now) is CommentKind.EMOJI_ONLY
    assert gate.classify("😀", clock.now) is CommentKind.REPEAT


def test_no_cap_no_slow_mode_admits_everything() -> None:
    gate, stats = RoomCommentGate(FakeClock()), ModerationStats()
    assert all(refused(gate, stats, "u", "same") is None for _ in range(100))
    assert stats.to_json() == ModerationStats().to_json()
