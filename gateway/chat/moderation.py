"""Moderation, free of I/O: blocklists matched on a normalised "skeleton" of the text, and the
per-room gate that enforces slow mode and the room-wide comment rate cap. The pipeline feeds
comments through them (docs/moderation.md).

The skeleton undoes the usual evasions so that one entry catches its variants:
NFKC (full-width and styled letters), case folding, diacritics and zero-width characters
removed, leetspeak and Cyrillic/Greek look-alikes mapped to Latin letters, letters spaced out
with separators joined ("s.p.a.m", "f r e e"), and runs of one letter collapsed ("sssspam").
Entries are normalised the same way, and match whole words of the skeleton only, so an
innocent word that contains a blocked one is not caught (the Scunthorpe problem).
"""

from __future__ import annotations

import enum
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from importlib import resources

import ahocorasick
import regex

from babelcast.gateway.wire import codes
from babelcast.gateway.wire.errors import ProtocolError

# Leetspeak and look-alikes, applied after case folding. "l" and "1" both become "i" (a
# skeleton, like Unicode's confusables): "fo11owers" and "followers" meet at "foiiowers".
_LOOKALIKES = str.maketrans({
    "0": "o", "1": "i", "l": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
    "@": "a", "$": "s", "€": "e",
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x",
})
_MENTION = regex.compile(r"(?<![\p{L}\p{N}])@")  # "@ana" mentions ana; "ch@t" is "chat"
_TOKEN = regex.compile(r"[^\W_]+")
_REPEAT = regex.compile(r"(.)\1+")
# Scripts written without spaces between words, and Hangul (particles attach to the noun):
# their entries match inside longer runs, as glossary terms do (glossary/matcher.py).
_UNSPACED = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}"
                          r"\p{Khmer}\p{Myanmar}\p{Tibetan}]")
_LETTER_OR_DIGIT = regex.compile(r"[\p{L}\p{N}]")
_DROPPED = regex.compile(r"[\p{Mn}\p{Me}\p{Cf}]+")  # marks, zero-width and bidi controls

MAX_ENTRIES = 500
MAX_ENTRY_CHARS = 100
DEFAULT_LISTS = ("en", "es", "ko", "pt")


def skeleton(text: str) -> str:
    """``text`` reduced to what a blocklist is matched against: lower-case Latin look-alike
    words of letters and digits, single spaces between them (see the module docstring)."""
    if text.isascii():  # most chat: nothing to normalise (casefold is lower for ASCII)
        text = text.lower()
    else:
        # NFKD: compatibility forms and accents apart in one pass; NFC after dropping the
        # marks puts Hangul syllables back together.
        text = _DROPPED.sub("", unicodedata.normalize("NFKD", text).casefold())
        text = unicodedata.normalize("NFC", text)
    text = _MENTION.sub(" ", text).translate(_LOOKALIKES)
    words: list[str] = []
    letters: list[str] = []  # a run of one-character words: "s.p.a.m" is spelled out
    for token in _TOKEN.findall(text):
        if len(token) == 1:
            letters.append(token)
            continue
        if letters:
            words.append("".join(letters))
            letters = []
        words.append(token)
    if letters:
        words.append("".join(letters))
    return _REPEAT.sub(r"\1", " ".join(words))


def is_emoji_only(text: str) -> bool:
    """No letters or digits at all: emoji, symbols, punctuation."""
    return _LETTER_OR_DIGIT.search(text) is None


class Blocklist:
    """Words and phrases refused in comments, matched on skeletons with Aho-Corasick (linear
    in the text whatever the number of entries). Built once, then read-only."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.entries: tuple[str, ...] = tuple(dict.fromkeys(entries))
        self._automaton = ahocorasick.Automaton()
        for entry in self.entries:
            key = skeleton(entry)
            if not key:
                continue
            keys = {key, key.replace(" ", "")}  # "free followers" also as "freefollowers"
            for k in keys:
                if k not in self._automaton:
                    self._automaton.add_word(k, (entry, len(k), bool(_UNSPACED.match(k[0])),
                                                 bool(_UNSPACED.match(k[-1]))))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, text: str) -> str | None:
        """The first entry ``text`` contains as whole words, or None."""
        return None if self._empty else self.find_in_skeleton(skeleton(text))

    def find_in_skeleton(self, skel: str) -> str | None:
        """``find`` for a text already reduced by ``skeleton``."""
        if self._empty:
            return None
        n = len(skel)
        for last, (entry, length, free_left, free_right) in self._automaton.iter(skel):
            start, end = last - length + 1, last + 1
            if (free_left or start == 0 or skel[start - 1] == " ") and (
                    free_right or end == n or skel[end] == " "):
                return entry
        return None


def default_entries(lang: str) -> tuple[str, ...]:
    """The entries of the default list for ``lang`` shipped in ``gateway/chat/data/blocklists``
    (one per line, ``#`` starts a comment); () for a language without one."""
    if lang not in DEFAULT_LISTS:
        return ()
    path = resources.files("babelcast.gateway.chat") / "data" / "blocklists" / f"{lang}.txt"
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return tuple(line for line in lines if line)


def validate_entries(value: object) -> tuple[str, ...]:
    """A room's own ``blocklist`` setting: a list of words and phrases. Raises ``ValueError``
    with a message saying what to send."""
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise ValueError(f"'blocklist' must be a list of at most {MAX_ENTRIES} words or phrases")
    out: list[str] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not 1 <= len(entry.strip()) <= MAX_ENTRY_CHARS:
            raise ValueError(f"blocklist[{i}] must be a word or phrase of 1-{MAX_ENTRY_CHARS} "
                             "characters")
        if not skeleton(entry):
            raise ValueError(f"blocklist[{i}] = {entry[:40]!r} has no letters or digits; it "
                             "would never match")
        out.append(" ".join(entry.split()))
    return tuple(dict.fromkeys(out))


class CommentRefused(Exception):
    """A comment moderation will not publish: ``code`` is the error frame's code."""

    def __init__(self, code: str, message: str, retry_after_s: float | None = None, *,
                 via_translation: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        # A blocklist refusal: whether the blocked words were in the comment's translation
        # into the moderation language rather than in the text as written.
        self.via_translation = via_translation

    def protocol_error(self, client_id: str | None) -> ProtocolError:
        """The error frame for the sender."""
        return ProtocolError(self.code, self.message, client_id,
                             retry_after_s=self.retry_after_s)


def blocked(via_translation: bool) -> CommentRefused:
    """The refusal of a comment the blocklist caught."""
    where = " (in its translation)" if via_translation else ""
    return CommentRefused(codes.BLOCKED, f"your comment was not published: it contains a word or "
                          f"phrase this room does not allow{where}; rephrase it",
                          via_translation=via_translation)


@dataclass
class ModerationStats:
    """Counters for /v1/stats and /metrics."""

    blocked: int = 0  # refused by the blocklist on the text as written
    blocked_translation: int = 0  # refused by the blocklist on the moderation-language text
    deleted_late: int = 0  # published unchecked, deleted when the late translation matched
    unchecked_translation: int = 0  # no moderation-language text (no route, timeout, error)
    late_translation: int = 0  # published before the moderation-language text was ready
    slow_mode: int = 0  # refused by slow mode
    shed_repeat: int = 0  # shed by the room rate cap, by kind
    shed_emoji: int = 0
    shed_other: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


class CommentKind(enum.IntEnum):
    """Priority under the room rate cap: the lowest is shed first."""

    REPEAT = 0  # the same skeleton was seen in the room within REPEAT_WINDOW_S
    EMOJI_ONLY = 1
    OTHER = 2


# Share of the cap a room may be using and still admit a comment of each kind: as a room
# fills up, repeats are shed first, then emoji-only comments, then everything else.
SHED_AT = {CommentKind.REPEAT: 0.5, CommentKind.EMOJI_ONLY: 0.8, CommentKind.OTHER: 1.0}
REPEAT_WINDOW_S = 10.0
_MAX_REMEMBERED = 4096  # skeletons and users remembered per room (oldest forgotten first)


class RoomCommentGate:
    """Slow mode and the room-wide rate cap of one room on this node. ``clock`` is
    injectable so the policy is testable without waiting."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._admitted: deque[float] = deque()  # times of comments admitted in the last 1 s
        self._seen: OrderedDict[str, float] = OrderedDict()  # skeleton -> last seen
        self._last_comment: OrderedDict[str, float] = OrderedDict()  # user -> last admitted

    def classify(self, text: str, now: float) -> CommentKind:
        """The comment's priority (and remember its skeleton as seen now)."""
        key = skeleton(text) or text
        last = self._seen.pop(key, None)
        self._seen[key] = now
        if len(self._seen) > _MAX_REMEMBERED:
            self._seen.popitem(last=False)
        if last is not None and now - last < REPEAT_WINDOW_S:
            return CommentKind.REPEAT
        return CommentKind.EMOJI_ONLY if is_emoji_only(text) else CommentKind.OTHER

    def admit(self, user_key: str, text: str, *, privileged: bool, slow_mode_s: float,
              max_per_s: int, stats: ModerationStats) -> None:
        """Let the comment through or raise ``CommentRefused`` (``slow_mode`` or
        ``room_busy``). Privileged senders (host, moderators) are never refused, but their
        comments count towards the cap."""
        now = self.clock()
        kind = self.classify(text, now) if max_per_s > 0 else CommentKind.OTHER
        if not privileged and slow_mode_s > 0:
            last = self._last_comment.get(user_key)
            if last is not None and now - last < slow_mode_s:
                stats.slow_mode += 1
                wait = slow_mode_s - (now - last)
                raise CommentRefused(codes.SLOW_MODE, f"slow mode: one comment every "
                                     f"{slow_mode_s:g} s in this room; wait {wait:.1f} s",
                                     retry_after_s=round(wait, 3))
        if max_per_s > 0:
            while self._admitted and now - self._admitted[0] >= 1.0:
                self._admitted.popleft()
            if not privileged and len(self._admitted) >= max_per_s * SHED_AT[kind]:
                if kind is CommentKind.REPEAT:
                    stats.shed_repeat += 1
                elif kind is CommentKind.EMOJI_ONLY:
                    stats.shed_emoji += 1
                else:
                    stats.shed_other += 1
                raise CommentRefused(codes.ROOM_BUSY, "the room is too busy right now; your "
                                     "comment was not published (repeats and emoji-only "
                                     "comments are dropped first); try again in a moment",
                                     retry_after_s=1.0)
            self._admitted.append(now)
        if slow_mode_s > 0:
            self._last_comment.pop(user_key, None)
            self._last_comment[user_key] = now
            if len(self._last_comment) > _MAX_REMEMBERED:
                self._last_comment.popitem(last=False)


class BlocklistCache:
    """The ``Blocklist`` of each combination of entries in use, built once (a few ms for a
    few hundred entries) and kept for the next comment."""

    def __init__(self, max_lists: int = 256) -> None:
        self.max_lists = max_lists
        self._lists: OrderedDict[tuple[tuple[str, ...], tuple[str, ...]], Blocklist] = (
            OrderedDict())
        self._defaults: dict[str, tuple[str, ...]] = {}

    def get(self, own: tuple[str, ...], default_langs: Iterable[str]) -> Blocklist | None:
        """The room's own entries plus the default lists of ``default_langs``; None when
        that is nothing at all."""
        langs = tuple(sorted({lang for lang in default_langs if lang in DEFAULT_LISTS}))
        if not own and not langs:
            return None
        key = (own, langs)
        found = self._lists.get(key)
        if found is None:
            entries = list(own)
            for lang in langs:
                if lang not in self._defaults:
                    self._defaults[lang] = default_entries(lang)
                entries.extend(self._defaults[lang])
            found = self._lists[key] = Blocklist(entries)
            if len(self._lists) > self.max_lists:
                self._lists.popitem(last=False)
        else:
            self._lists.move_to_end(key)
        return found
