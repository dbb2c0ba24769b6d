"""The host console's room insights (gateway.insights): the sliding window, comments per minute,
top glossary terms and the mood rules, with an injected clock."""

from __future__ import annotations

from babelcast.gateway.chat.insights import InsightsWindow, dominant_mood, mood_cues, summarize_all
from babelcast.gateway.events import ChatMessage
from babelcast.translation import Translation

NOW = 1_800_000_000.0


def msg(i: int, age_s: float, text: str, lang: str = "en", *, question: bool = False,
        hits: tuple[str, ...] = (), en: str | None = None) -> ChatMessage:
    m = ChatMessage(id=i, room="r", user="u", user_id=f"u-{i}", text=text, src_lang=lang,
                    ts=NOW - age_s, glossary_hits=hits, question=question)
    if en is not None:
        m.translations["en"] = Translation("en", en, True)
    return m


def window(window_s: float = 300.0) -> InsightsWindow:
    return InsightsWindow(window_s, clock=lambda: NOW)


def test_counts_only_comments_inside_the_window() -> None:
    messages = [msg(1, 400, "old"), msg(2, 299, "a"), msg(3, 130, "b"), msg(4, 59, "c"),
                msg(5, 1, "d", "pt", question=True)]
    got = window().summarize("r", messages, {"en": 2, "pt": 1})
    assert got.comments_in_window == 4
    assert got.comments_last_minute == 2
    assert got.per_minute == [1, 0, 1, 0, 2]  # oldest minute first
    assert got.languages == {"en": 3, "pt": 1}
    assert got.questions == 1
    body = got.to_json()
    assert body["viewers"] == {"en": 2, "pt": 1} and body["viewers_total"] == 3
    assert body["comments"]["complete"] is True


def test_the_window_slides_with_the_clock() -> None:
    clock = [NOW]
    w = InsightsWindow(120, clock=lambda: clock[0])
    messages = [msg(1, 100, "a"), msg(2, 10, "b")]
    assert w.summarize("r", messages, {}).comments_in_window == 2
    clock[0] += 30
    assert w.summarize("r", messages, {}).comments_in_window == 1
    clock[0] += 200
    assert w.summarize("r", messages, {}).comments_in_window == 0


def test_top_glossary_terms_are_the_most_mentioned_in_the_window() -> None:
    messages = [msg(1, 1000, "x", hits=("Glow Kit",) * 5),
                msg(2, 50, "x", hits=("Lip Oil", "Glow Kit")),
                msg(3, 40, "x", hits=("Lip Oil",)), msg(4, 30, "x", hits=("Lip Oil",))]
    got = window().summarize("r", messages, {})
    assert got.top_terms == [("Lip Oil", 3), ("Glow Kit", 1)]
    assert got.to_json()["top_terms"][0] == {"term": "Lip Oil", "mentions": 3}


def test_mood_cues_from_emoji_words_and_questions() -> None:
    cues = mood_cues("amei 😍😍 mas é muito caro 🤔", question=False)
    assert cues["excitement"] == {"amei", "😍"}
    assert cues["hesitation"] == {"caro", "muito caro"}
    assert cues["curiosity"] == {"🤔"}
    assert mood_cues("how much", question=True)["curiosity"] == {"?"}
    assert mood_cues("❤️ 대박")["excitement"] == {"❤", "대박"}
    assert mood_cues("I can't wait") == {"excitement": set(), "curiosity": set(),
                                        "hesitation": set()}


def test_a_comment_counts_once_per_mood_and_the_top_mood_wins() -> None:
    messages = [msg(1, 10, "😍😍😍😍😍 love love"), msg(2, 9, "wow 🔥"),
                msg(3, 8, "price?", question=True), msg(4, 7, "hmm too expensive")]
    got = window().summarize("r", messages, {})
    assert got.mood_scores == {"excitement": 2, "curiosity": 1, "hesitation": 1}
    assert got.dominant == "excitement"
    assert dict(got.mood_cues["excitement"]) == {"love": 1, "😍": 1, "wow": 1}
    mood = got.to_json()["mood"]
    assert mood["dominant"] == "excitement" and mood["cues"]["curiosity"] == [
        {"cue": "?", "count": 1}]


def test_the_host_language_translation_adds_word_cues() -> None:
    # Swahili has no lexicon; its English translation does. The cue counts once.
    messages = [msg(1, 5, "naipenda sana", "sw", en="I love it so much"),
                msg(2, 4, "nzuri sana", "sw", en="amazing, love it")]
    got = window().summarize("r", messages, {})
    assert got.mood_scores["excitement"] == 2
    assert dict(got.mood_cues["excitement"]) == {"love": 2, "amazing": 1}


def test_dominant_mood_needs_two_comments_and_a_clear_lead() -> None:
    assert dominant_mood({"excitement": 1, "curiosity": 0, "hesitation": 0}) == "calm"
    assert dominant_mood({"excitement": 3, "curiosity": 3, "hesitation": 0}) == "mixed"
    assert dominant_mood({"excitement": 2, "curiosity": 5, "hesitation": 1}) == "curiosity"


def test_a_full_history_younger_than_the_window_marks_counts_incomplete() -> None:
    messages = [msg(i, 100 - i, "x") for i in range(10)]
    assert summarize_all(window(), "r", messages, {}, history_size=10).complete is False
    assert summarize_all(window(), "r", messages, {}, history_size=500).complete is True
    older = [msg(0, 1000, "x"), *messages[1:]]
    assert summarize_all(window(), "r", older, {}, history_size=10).complete is True
