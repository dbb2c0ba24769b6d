"""The room at a glance for the host console: comments per minute, questions, the glossary
terms mentioned most, and the mood of the chat, over a sliding window of recent messages
(docs/console.md has the rules).

Computed on request from the room's history (``Bus.history``), so it needs no state of its
own, sees exactly what every node sees, and forgets deleted comments with them. The clock is
injectable for tests.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from babelcast.gateway.events import ChatMessage

MOODS = ("excitement", "curiosity", "hesitation")

# Emoji cues, whole graphemes (variation selectors are stripped before matching).
_EMOJI: dict[str, tuple[str, ...]] = {
    "excitement": ("😍", "🤩", "🔥", "❤", "💖", "💕", "😻", "🥰", "💯", "🎉", "👏", "🙌", "😱",
                   "✨", "💥", "🛒", "💸", "🤑", "😎", "💗", "💓", "♥"),
    "curiosity": ("🤔", "👀", "🧐", "❓", "❔"),
    "hesitation": ("😕", "😐", "😬", "🙄", "😒", "🫤", "😟", "🤷", "😑", "🥲", "💭"),
}
# Word cues per mood, any language: lowercase whole words for scripts with spaces, substrings
# for Korean, Japanese and Chinese.
_WORDS: dict[str, tuple[str, ...]] = {
    "excitement": (
        # en
        "love", "amazing", "wow", "omg", "want", "need", "buy", "buying", "bought", "gorgeous",
        "beautiful", "perfect", "awesome", "great", "cute", "sold", "obsessed",
        # pt
        "amei", "adorei", "amo", "lindo", "linda", "quero", "perfeito", "perfeita", "maravilhoso",
        "maravilhosa", "incrível", "incrivel", "comprei", "comprar", "top", "uau",
        # es
        "me encanta", "encanta", "hermoso", "hermosa", "quiero", "genial", "increíble",
        "precioso", "preciosa", "bonito", "bonita", "compré",
        # fr, de
        "j'adore", "magnifique", "génial", "super", "toll", "wunderschön", "liebe", "geil",
        # ko, ja, zh (substrings)
        "대박", "최고", "예뻐", "예쁘", "사고 싶", "갖고 싶", "짱", "かわいい", "可愛い", "すごい",
        "欲しい", "最高", "好看", "漂亮", "喜欢", "想要", "太棒",
    ),
    "curiosity": (
        "curious", "wonder", "wondering", "interested", "tell me", "details", "info",
        "curiosa", "curioso", "interessada", "interessado", "mostra", "detalhes",
        "interesada", "interesado", "muestra", "detalles",
        "궁금", "気になる", "好奇",
    ),
    "hesitation": (
        "expensive", "pricey", "hmm", "hm", "not sure", "maybe", "idk", "unsure", "meh",
        "doubt", "think about", "too much",
        "caro", "será", "talvez", "não sei", "nao sei", "dúvida", "duvida", "hum",
        "muito caro", "pensar",
        "quizás", "quizas", "no sé", "no se", "demasiado", "duda",
        "cher", "peut-être", "teuer", "vielleicht",
        "비싸", "글쎄", "고민", "高い", "迷う", "うーん", "贵", "犹豫", "考虑",
    ),
}
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def mood_cues(text: str, question: bool = False) -> dict[str, set[str]]:
    """The cues of each mood in ``text`` (a question is a curiosity cue, ``?``)."""
    found: dict[str, set[str]] = {mood: set() for mood in MOODS}
    plain = text.replace("\ufe0f", "")
    lowered = plain.lower()
    words = set(_WORD.findall(lowered))
    padded = " " + " ".join(_WORD.findall(lowered)) + " "
    for mood in MOODS:
        found[mood].update(e for e in _EMOJI[mood] if e in plain)
        for cue in _WORDS[mood]:
            if _SPACELESS.search(cue):
                if cue in plain:
                    found[mood].add(cue)
            elif (" " in cue and f" {cue} " in padded) or cue in words:
                found[mood].add(cue)
    if question:
        found["curiosity"].add("?")
    return found


@dataclass
class RoomInsights:
    """What the console shows about a room; ``to_json`` is the REST body."""

    room: str
    window_s: float
    now: float
    viewers: dict[str, int]
    comments_last_minute: int
    comments_in_window: int
    per_minute: list[int]  # comments in each minute of the window, oldest first
    languages: dict[str, int]  # comments by source language in the window
    questions: int
    top_terms: list[tuple[str, int]]
    mood_scores: dict[str, int]
    mood_cues: dict[str, list[tuple[str, int]]]
    complete: bool  # False when history is shorter than the window (counts are lower bounds)
    dominant: str = field(init=False)

    def __post_init__(self) -> None:
        self.dominant = dominant_mood(self.mood_scores)

    def to_json(self) -> dict[str, Any]:
        """The JSON body of ``GET /v1/rooms/{room}/insights``."""
        return {
            "room": self.room, "window_s": self.window_s, "now": self.now,
            "viewers": self.viewers, "viewers_total": sum(self.viewers.values()),
            "comments": {"last_minute": self.comments_last_minute,
                         "in_window": self.comments_in_window,
                         "per_minute": self.per_minute, "complete": self.complete},
            "languages": self.languages,
            "questions": self.questions,
            "top_terms": [{"term": t, "mentions": n} for t, n in self.top_terms],
            "mood": {"dominant": self.dominant, "scores": self.mood_scores,
                     "cues": {m: [{"cue": c, "count": n} for c, n in cues]
                              for m, cues in self.mood_cues.items()}},
        }


def dominant_mood(scores: dict[str, int], minimum: int = 2) -> str:
    """The mood shown by the most comments; ``calm`` when none reaches ``minimum``, ``mixed``
    on a tie at the top."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < minimum:
        return "calm"
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return "mixed"
    return ranked[0][0]


class InsightsWindow:
    """Summarises a room's recent messages over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 300.0, top_terms: int = 5, top_cues: int = 3,
                 clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
        self.top_terms = top_terms
        self.top_cues = top_cues
        self.clock = clock

    def summarize(self, room: str, messages: Sequence[ChatMessage], viewers: dict[str, int],
                  history_full: bool = False, host_lang: str = "en") -> RoomInsights:
        """Insights from ``messages`` (the room's history, oldest first) at ``clock()``.
        ``history_full``: history holds as many messages as it keeps, so older ones in the
        window may be gone. ``host_lang``: whose translation adds word cues to the mood."""
        now = self.clock()
        start = now - self.window_s
        recent = [m for m in messages if start < m.ts <= now]
        minutes = max(1, round(self.window_s / 60))
        per_minute = [0] * minutes
        for m in recent:
            age = int((now - m.ts) // 60)
            if age < minutes:
                per_minute[minutes - 1 - age] += 1
        terms: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        scores: Counter[str] = Counter({mood: 0 for mood in MOODS})
        cue_counts: dict[str, Counter[str]] = {mood: Counter() for mood in MOODS}
        for m in recent:
            terms.update(m.glossary_hits)
            languages[m.src_lang] += 1
            for mood, cues in self._cues(m, host_lang).items():
                if cues:
                    scores[mood] += 1  # a comment counts once per mood, however many cues
                    cue_counts[mood].update(sorted(cues))  # ties in a stable order
        complete = not (history_full and bool(messages) and messages[0].ts > start)
        return RoomInsights(
            room=room, window_s=self.window_s, now=now, viewers=dict(viewers),
            comments_last_minute=sum(1 for m in recent if m.ts > now - 60),
            comments_in_window=len(recent), per_minute=per_minute,
            languages=dict(languages.most_common()),
            questions=sum(1 for m in recent if m.question),
            top_terms=terms.most_common(self.top_terms),
            mood_scores=dict(scores),
            mood_cues={mood: c.most_common(self.top_cues) for mood, c in cue_counts.items()},
            complete=complete)

    @staticmethod
    def _cues(msg: ChatMessage, host_lang: str) -> dict[str, set[str]]:
        """Cues of the original, plus word cues of the host-language translation (so a mood
        word in a language without a lexicon still counts); each cue once."""
        cues = mood_cues(msg.text, msg.question)
        translated = msg.translations.get(host_lang)
        if translated is not None and translated.translated:
            for mood, extra in mood_cues(translated.text).items():
                cues[mood] |= extra
        return cues


def summarize_all(window: InsightsWindow, room: str, messages: Iterable[ChatMessage],
                  viewers: dict[str, int], history_size: int,
                  host_lang: str = "en") -> RoomInsights:
    """``window.summarize`` over a history that keeps at most ``history_size`` messages."""
    kept = list(messages)
    return window.summarize(room, kept, viewers, history_full=len(kept) >= history_size,
                            host_lang=host_lang)
