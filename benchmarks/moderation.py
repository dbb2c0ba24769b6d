"""Cost of the blocklist check per comment, next to what the comment path already pays.

    python benchmarks/moderation.py [--repeat 5]

Comments: the chat texts of benchmarks/data/langid_chat_dev.tsv (real-looking live-chat
comments in many languages). Lists: the shipped default lists (en+pt, what a Portuguese comment
in an English-moderated room is checked against) and a 500-entry list (the room maximum:
the defaults plus generated phrases). Measured in the same run:

- ``langid``: ``Detector.detect`` per comment (already on every comment's path): the baseline;
- ``blocklist``: ``Blocklist.find`` (skeleton + Aho-Corasick + word boundaries);
- ``naive regex``: one ``\\b(?:e1|e2|...)\\b`` alternation over the case-folded text, the
  usual first implementation (which misses every disguise the skeleton undoes).

Prints µs per comment and the ratio to language ID.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from babelcast.gateway.chat.moderation import Blocklist, default_entries
from babelcast.langid import Detector

DATA = Path(__file__).parent / "data" / "langid_chat_dev.tsv"


def comments() -> list[str]:
    with DATA.open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f, delimiter="\t")]


def per_comment_us(fn: Callable[[str], object], texts: list[str], repeat: int) -> float:
    """Median over ``repeat`` runs of the mean µs per text (after one warm-up run)."""
    for text in texts:
        fn(text)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            fn(text)
        runs.append((time.perf_counter() - started) / len(texts) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = comments()
    detector = Detector()
    defaults = list(default_entries("en") + default_entries("pt"))
    big = defaults + [f"spam phrase number {i} here" for i in range(500 - len(defaults))]
    print(f"{len(texts)} comments, median of {args.repeat} runs\n")
    print("| check | entries | build ms | µs/comment | / langid |")
    print("|---|---|---|---|---|")
    base = per_comment_us(lambda t: detector.detect(t, None), texts, args.repeat)
    print(f"| langid (baseline) | - | - | {base:.1f} | 1.00 |")
    for entries in (defaults, big):
        started = time.perf_counter()
        blocklist = Blocklist(entries)
        build_ms = (time.perf_counter() - started) * 1e3
        us = per_comment_us(blocklist.find, texts, args.repeat)
        print(f"| blocklist | {len(entries)} | {build_ms:.1f} | {us:.1f} | {us / base:.2f} |")
        started = time.perf_counter()
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(e.casefold()) for e in entries)
                             + r")\b")
        build_ms = (time.perf_counter() - started) * 1e3
        us = per_comment_us(lambda t, pat=pattern: pat.search(t.casefold()), texts,
                            args.repeat)
        print(f"| naive regex | {len(entries)} | {build_ms:.1f} | {us:.1f} | {us / base:.2f} |")


if __name__ == "__main__":
    main()
