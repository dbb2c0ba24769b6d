"""``ChatStage``: the chat-aware stage around protection and the engine.

``prepare`` runs before glossary protection: it normalises the comment for the model
(``normalise``), adds the built-in terms of the language pair (places, commerce terms,
reactions) to the room's glossary as a glossary of their own that the room's terms override,
and renders by rule the comments that need no model (reactions, short exclamations).
``finish`` runs after restore: it gives the writer's casing and punctuation back and attaches
every rewrite to the result for debugging.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import regex

from babelcast.glossary import Glossary, Term
from babelcast.glossary.spans import EMOJI, TERM, Span, find_spans
from babelcast.translation.chat.normalise import AS_WRITTEN, Normaliser, Piece, give_back
from babelcast.translation.chat.rules import (
    KINDS,
    PHRASE,
    PLACE,
    REACTION,
    TermPack,
    load_pack,
    load_rules,
)
from babelcast.translation.chat.rules import TERM as TERM_KIND
from babelcast.translation.engine import Rewrite, Translation

RULES_ENGINE = "chat-rules"  # ``Translation.engine`` of a comment rendered by rule
_WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}'\u2019]*")
_LETTER = regex.compile(r"\p{L}")


@dataclass(frozen=True)
class ChatPrepared:
    """A comment ready for protection: ``text`` and ``glossary`` go on to the service;
    ``direct`` is the finished translation when no model is needed."""

    source: str
    text: str
    glossary: Glossary | None
    rewrites: tuple[Rewrite, ...] = ()
    style: str = AS_WRITTEN
    trailing: str | None = None
    capital_start: bool = False
    proper: frozenset[str] = frozenset()
    direct: str | None = None
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class _PairData:
    """What one language pair needs, built once: the source's normaliser, the pair's built-in
    glossary (None when empty) and the names the casing must not lower."""

    normaliser: Normaliser
    glossary: Glossary | None
    why: dict[str, tuple[str, str]]  # term (casefolded) -> (kind, why)
    proper: frozenset[str]
    pack: TermPack
    render: dict[str, str]  # reaction canonical spelling (casefolded) -> target rendering
    edges: tuple[regex.Pattern[str], regex.Pattern[str]] | None  # leading, trailing reactions


class ChatStage:
    """The chat stage for every language pair (rules and packs loaded on first use).

    ``kinds``: the kinds of rewrite to make (all of ``KINDS`` by default; the benchmark turns
    them off one at a time). ``directory``: another data directory (tests). Use from one
    thread (the service's event loop)."""

    def __init__(self, *, kinds: Iterable[str] = KINDS, directory: Path | None = None,
                 merged_glossaries: int = 256) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds of rewrite {sorted(unknown)}; known: {KINDS}")
        self.kinds = frozenset(kinds)
        self.directory = directory
        self._pairs: dict[tuple[str, str], _PairData] = {}
        self._merged: OrderedDict[tuple[str, str, str], _Merged] = OrderedDict()
        self._merged_max = merged_glossaries

    # --- the two calls ------------------------------------------------------------------

    def prepare(self, text: str, src: str, tgt: str,
                glossary: Glossary | None = None) -> ChatPrepared:
        """Normalise ``text`` (in ``src``) for translation into ``tgt`` with the room's
        ``glossary``. Never raises for any input text."""
        pair = self._pair(src, tgt)
        spans = find_spans(text, glossary, tgt)
        norm = pair.normaliser.normalise(text, spans)
        rewrites = list(norm.rewrites)
        merged = self._merge(pair, glossary, src, tgt)
        prepared = ChatPrepared(text, norm.text, merged.glossary, (), norm.style,
                                norm.trailing, False, pair.proper | merged.names)
        direct = self._direct(norm.pieces, pair, rewrites)
        if direct is not None:
            return replace(prepared, rewrites=tuple(rewrites), direct=direct)
        text, prefix, suffix = self._peel(norm.text, pair, norm.style, rewrites)
        capital_start = False
        if merged.glossary is not None:
            spans = [s for s in find_spans(text, merged.glossary, tgt, patterns=False)
                     if s.kind == TERM and s.term is not None]
            rewrites += self._term_rewrites(spans, merged, pair)
            # A mapped term that opens a capitalised comment comes back as the term's own
            # text ("sold out"): it gets the capital the model would have written.
            letter = _LETTER.search(text)
            capital_start = letter is not None and letter.group().isupper() and any(
                s.start == letter.start() and s.output and s.output != s.text for s in spans)
        return replace(prepared, text=text, rewrites=tuple(rewrites), prefix=prefix,
                       suffix=suffix, capital_start=capital_start)

    def finish(self, prepared: ChatPrepared, result: Translation) -> Translation:
        """``result`` (the translation of ``prepared.text``) with the writer's style given
        back and the rewrites attached; an untranslated result gets the comment as written."""
        if not result.translated:
            return replace(result, text=prepared.source, rewrites=prepared.rewrites)
        text = give_back(result.text, prepared.style, prepared.trailing, prepared.proper,
                         prepared.capital_start)
        text = prepared.prefix + text + prepared.suffix
        return replace(result, text=text, rewrites=prepared.rewrites)

    def render(self, prepared: ChatPrepared, tgt: str) -> Translation:
        """The translation of a comment rendered by rule (``prepared.direct`` is set)."""
        assert prepared.direct is not None
        return self.finish(prepared, Translation(tgt, prepared.direct, True, None, RULES_ENGINE))

    # --- rules rendered without a model -------------------------------------------------

    def _peel(self, text: str, pair: _PairData, style: str,
              rewrites: list[Rewrite]) -> tuple[str, str, str]:
        """Reactions that open or close the comment ("kkkk amei o vestido") are taken off
        and rendered by rule: the model gets the words alone. Returns (text for the model,
        rendered prefix, rendered suffix)."""
        if pair.edges is None:
            return text, "", ""
        lead, tail = pair.edges
        prefix = suffix = ""
        m = lead.match(text)
        if m is not None and _LETTER.search(text, m.end()):
            prefix = self._rendered(m.group(), pair, rewrites)
            text = text[m.end():]
            if style != AS_WRITTEN or m.group()[:1].isupper():
                text = text[:1].upper() + text[1:]
        m = tail.search(text)
        if m is not None and _LETTER.search(text[:m.start()]):
            suffix = self._rendered(m.group(), pair, rewrites)
            text = text[:m.start()]
        return text, prefix, suffix

    @staticmethod
    def _rendered(found: str, pair: _PairData, rewrites: list[Rewrite]) -> str:
        def one(m: regex.Match[str]) -> str:
            shown = pair.render.get(m.group().casefold(), m.group())
            if shown != m.group():
                rewrites.append(Rewrite(REACTION, m.group(), shown, "rendered by rule"))
            return shown

        return _WORD.sub(one, found)

    def _direct(self, pieces: tuple[Piece, ...], pair: _PairData,
                rewrites: list[Rewrite]) -> str | None:
        """The comment rendered by rule when its words are only reactions and at most one
        whole phrase of the pack ("kkkk", "amei ❤️", "obrigada!!"); else None."""
        if any(p.span is not None and p.span.kind != EMOJI for p in pieces):
            return None
        free = "".join(p.text for p in pieces if p.span is None)
        words = _WORD.findall(free)
        if not words:
            return None
        reactions = [w for w in words if w.casefold() in pair.render]
        rest = [w for w in words if w.casefold() not in pair.render]
        phrase = " ".join(rest).casefold()
        if rest and (PHRASE not in self.kinds or phrase not in pair.pack.phrases):
            return None
        if not rest and REACTION not in self.kinds:
            return None
        rendering = pair.pack.phrases.get(phrase) if rest else None
        out: list[str] = []
        placed = False
        for p in pieces:
            if p.span is not None:
                out.append(p.text)
                continue
            pos = 0
            for m in _WORD.finditer(p.text):
                out.append(p.text[pos:m.start()])
                pos = m.end()
                word = m.group()
                if word.casefold() in pair.render:
                    out.append(pair.render[word.casefold()])
                elif not placed:
                    out.append(rendering or "")
                    placed = True
                elif out and out[-1] == " ":
                    out.pop()
            out.append(p.text[pos:])
        for w in reactions:
            if pair.render[w.casefold()] != w:
                rewrites.append(Rewrite(REACTION, w, pair.render[w.casefold()],
                                        "rendered by rule"))
        if rendering is not None:
            rewrites.append(Rewrite(PHRASE, " ".join(rest), rendering,
                                    "a whole comment of the term pack, rendered by rule"))
        return "".join(out).strip() or None

    # --- the built-in glossary ----------------------------------------------------------

    def _pair(self, src: str, tgt: str) -> _PairData:
        pair = self._pairs.get((src, tgt))
        if pair is None:
            pair = self._pairs[(src, tgt)] = self._build_pair(src, tgt)
        return pair

    def _build_pair(self, src: str, tgt: str) -> _PairData:
        rules = load_rules(src, self.directory)
        target = load_rules(tgt, self.directory)
        pack = load_pack(src, tgt, self.directory)
        terms: dict[tuple[str, bool], Term] = {}
        why: dict[str, tuple[str, str]] = {}

        def add(text: str, translation: str | None, kind: str, reason: str,
                case_sensitive: bool = False) -> None:
            key = (text.casefold(), case_sensitive)
            if key in terms:
                return
            terms[key] = Term(text, {tgt: translation} if translation else {},
                              case_sensitive=case_sensitive)
            why[text.casefold()] = (kind, reason)

        render: dict[str, str] = {}
        if REACTION in self.kinds:
            for r in rules.reactions:
                shown = target.render.get(r.means)
                render[r.canonical.casefold()] = shown or r.canonical
                add(r.canonical, shown, REACTION, r.why)
        if TERM_KIND in self.kinds:
            for term, to in pack.mapped.items():
                add(term, to, TERM_KIND, pack.why[term])
            for name in pack.keep:
                add(name, None, TERM_KIND, "a name kept as written")
        if PLACE in self.kinds:
            for place in rules.places:
                ambiguous = place.casefold() in rules.ambiguous_places
                exonym = rules.exonyms.get(place, {}).get(tgt)
                add(place, exonym, PLACE, "a place name (gazetteer)", case_sensitive=ambiguous)
        glossary = Glossary(f"chat.{src}-{tgt}", terms=tuple(terms.values())) if terms else None
        proper = frozenset(p.casefold() for p in rules.places + target.places
                           if p.casefold() not in rules.ambiguous_places | target.ambiguous_places)
        proper |= frozenset(e.casefold() for m in rules.exonyms.values() for e in m.values())
        edges = None
        if render:
            alt = "|".join(regex.escape(k) for k in sorted(render, key=len, reverse=True))
            word = rf"(?<![\p{{L}}\p{{N}}])(?:{alt})(?![\p{{L}}\p{{N}}])"
            edges = (regex.compile(rf"\s*{word}(?:[\s,]+{word})*[\s,.!]*", regex.IGNORECASE),
                     regex.compile(rf"(?:[\s,]+{word})+\s*\Z", regex.IGNORECASE))
        return _PairData(Normaliser(rules, self.kinds), glossary, why, proper, pack, render,
                         edges)

    def _merge(self, pair: _PairData, room: Glossary | None, src: str, tgt: str) -> _Merged:
        """The pair's built-in glossary under the room's: a built-in term that a room term
        equals, contains or lies inside is dropped, so the room's own terms win. Built once
        per glossary version and pair."""
        base = pair.glossary
        if room is None:
            builtin = frozenset(t.text for t in base.all_terms) if base else frozenset()
            return _Merged(base, builtin, frozenset())
        key = (room.cache_id, src, tgt)
        found = self._merged.get(key)
        if found is not None:
            self._merged.move_to_end(key)
            return found
        names = frozenset(t.text.casefold() for t in room.all_terms if not t.translations)
        kept: tuple[Term, ...] = ()
        if base is not None:
            dropped: set[int] = set()
            for i, term in enumerate(base.all_terms):
                if any(True for _ in room.matcher.find(term.text)):
                    dropped.add(i)
            for term in room.all_terms:
                dropped.update(m.term_index for m in base.matcher.find(term.text))
            kept = tuple(t for i, t in enumerate(base.all_terms) if i not in dropped)
        glossary = Glossary(room.name, room.version, terms=room.all_terms + kept,
                            description=room.description) if kept else room
        merged = _Merged(glossary, frozenset(t.text for t in kept), names)
        self._merged[key] = merged
        if len(self._merged) > self._merged_max:
            self._merged.popitem(last=False)
        return merged

    @staticmethod
    def _term_rewrites(spans: list[Span], merged: _Merged, pair: _PairData) -> list[Rewrite]:
        """The built-in terms among the term ``spans`` (the room's are not reported)."""
        out = []
        for s in spans:
            if s.term not in merged.builtin:
                continue
            assert s.term is not None
            kind, why = pair.why[s.term.casefold()]
            if kind == PLACE and (s.output or s.text) == s.text:
                continue  # kept as written: its capitals were reported by the normaliser
            out.append(Rewrite(kind, s.text, s.output or s.text, why))
        return out


@dataclass(frozen=True)
class _Merged:
    """A room's glossary with the pair's built-in terms, the built-in terms it kept, and the
    room's kept terms (brand names the casing never lowers), case-folded."""

    glossary: Glossary | None
    builtin: frozenset[str]
    names: frozenset[str]
