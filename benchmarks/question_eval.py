"""Precision and recall of the host console's question detection, per language, against a
punctuation-only baseline, on a small hand-labelled multilingual chat set.

    python benchmarks/question_eval.py              # markdown tables
    python benchmarks/question_eval.py --errors     # also list every miss and false alarm

Data: benchmarks/data/questions.tsv (lang, is_question, text), written together with the
rules, and benchmarks/data/questions_fresh.tsv, written after the rules were frozen and never
used to change them (each gets its own table). Each comment goes through the
gateway's real path: language ID (``langid.Detector`` with the viewer's declared language, as
in ``CommentPipeline``), then ``gateway.questions.QuestionDetector``. Systems:

  punctuation   a question mark in any script (? ？ ¿ ؟), URLs excluded
  rules         punctuation + final particles + interrogative words, original text only
  rules+en      rules + the same rules on the English translation (the real embedded model
                translates Portuguese; the other languages have no engine here, so for them
                this is the same as "rules")
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babelcast.gateway.chat.questions import QuestionDetector, has_question_mark
from babelcast.langid import Detector
from babelcast.translation import EmbeddedEngine

DATA = Path(__file__).parent / "data" / "questions.tsv"
FRESH = Path(__file__).parent / "data" / "questions_fresh.tsv"  # scored once, never tuned on


@dataclass(frozen=True)
class Row:
    lang: str
    question: bool
    text: str


def load(path: Path = DATA) -> list[Row]:
    """The labelled rows (comment lines starting with # are skipped)."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for fields in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if not fields or fields[0].startswith("#"):
                continue
            lang, label, text = fields
            rows.append(Row(lang, label == "1", text))
    return rows


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, guess: bool) -> None:
        if truth and guess:
            self.tp += 1
        elif guess:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class Judge:
    """Language ID, translation to English and the three systems, loaded once."""

    def __init__(self) -> None:
        self.langid = Detector()
        self.questions = QuestionDetector()
        self.engine = EmbeddedEngine()

    def prepare(self, rows: list[Row]) -> tuple[list[str], list[str | None]]:
        """Detected language and English translation (where an engine covers it) per row."""
        detected = [self.langid.detect(r.text, r.lang).lang for r in rows]
        english: list[str | None] = [None] * len(rows)
        for src in sorted(set(detected)):
            todo = [i for i, lang in enumerate(detected)
                    if lang == src and self.engine.supports(lang, "en")]
            if todo:
                done = self.engine.translate_batch([rows[i].text for i in todo], src, "en")
                for i, text in zip(todo, done, strict=True):
                    english[i] = text
        return detected, english


def evaluate(judge: Judge, title: str, rows: list[Row], show_errors: bool) -> None:
    """Print the table of one data set."""
    detected, english = judge.prepare(rows)
    questions = judge.questions
    systems: dict[str, Callable[[int], bool]] = {
        "punctuation": lambda i: has_question_mark(rows[i].text),
        "rules": lambda i: questions.is_question(rows[i].text, detected[i]),
        "rules+en": lambda i: questions.is_question(rows[i].text, detected[i], english[i]),
    }
    langs = list(dict.fromkeys(r.lang for r in rows))
    scores = {name: {lang: Score() for lang in [*langs, "all"]} for name in systems}
    errors: list[str] = []
    for i, row in enumerate(rows):
        for name, system in systems.items():
            guess = system(i)
            scores[name][row.lang].add(row.question, guess)
            scores[name]["all"].add(row.question, guess)
            if name == "rules+en" and guess != row.question:
                kind = "missed" if row.question else "false alarm"
                errors.append(f"- {row.lang} {kind}: {row.text!r} (langid {detected[i]}, "
                              f"en {english[i]!r})")
    started = time.perf_counter()
    for _ in range(20):
        for i, row in enumerate(rows):
            questions.detect(row.text, detected[i], english[i])
    per_call_us = (time.perf_counter() - started) / (20 * len(rows)) * 1e6

    print(f"### {title}\n")
    print(f"{len(rows)} comments ({sum(r.question for r in rows)} questions, "
          f"{sum(not r.question for r in rows)} not), {len(langs)} languages\n")
    print("| lang | q / not | punctuation P / R | rules P / R | rules+en P / R |")
    print("|---|---:|---:|---:|---:|")
    for lang in [*langs, "all"]:
        subset = rows if lang == "all" else [r for r in rows if r.lang == lang]
        q, n = sum(r.question for r in subset), sum(not r.question for r in subset)
        cells = [f"{s.precision:.2f} / {s.recall:.2f}"
                 for s in (scores[name][lang] for name in systems)]
        print(f"| {lang} | {q} / {n} | " + " | ".join(cells) + " |")
    allp, allr = scores["punctuation"]["all"], scores["rules+en"]["all"]
    print(f"\nF1 all languages: punctuation {allp.f1:.3f}, rules {scores['rules']['all'].f1:.3f}"
          f", rules+en {allr.f1:.3f}; recall rules+en / punctuation = "
          f"{allr.recall / allp.recall:.2f}x")
    print(f"detector cost: {per_call_us:.1f} µs per comment (mean over {20 * len(rows)} calls)")
    if show_errors:
        print("\nErrors of rules+en:")
        print("\n".join(errors) or "(none)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()
    judge = Judge()
    evaluate(judge, "dev set (questions.tsv, written with the rules)", load(DATA), args.errors)
    evaluate(judge, "fresh set (questions_fresh.tsv, written after the rules were frozen)",
             load(FRESH), args.errors)


if __name__ == "__main__":
    main()
