#!/usr/bin/env python
"""Saturation point: raise the comment rate until the p99 end-to-end latency of
translated delivery passes 1 s, profiling the gateway with py-spy at every rate, and say what
gave first: the translation model, the fan-out, or the event loop (everything else).

Each rate is one ``babelcast bench e2e`` run (a fresh gateway, embedded default unless
``--server-arg`` says otherwise) with viewers reading en or pt (so every comment is translated
once into the other language), no bursts and no reactions (every comment is timed).

    python benchmarks/saturation.py                                  # 200 viewers, 5..160/s
    python benchmarks/saturation.py --viewers 100 --rates 10,40 --duration 20 --out /tmp/sat
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import E2EOptions, machine, run_e2e

LIMIT_MS = 1000.0


def row(rate: float, s: dict) -> dict:
    lat = s["latency"]
    return {"rate": rate, "translated_p99_ms": lat["translated"].get("p99_ms"),
            "untranslated_p99_ms": lat["untranslated"].get("p99_ms"),
            "translated_p50_ms": lat["translated"].get("p50_ms"),
            "deliveries_per_s": s["deliveries_per_s"], "lost": s["loss"]["lost"],
            "published": s["comments_published"], "mean_batch": s["server"]["mean_batch"],
            "shed": s["server"]["translations_shed"],
            "timeouts": s["server"]["translation_timeouts"],
            "gateway_cpu_pct": s["gateway_process"]["cpu_mean_pct"],
            "client_cpu_pct": (s.get("load_generator_process") or {}).get("cpu_mean_pct"),
            "parts": s.get("profile_parts", {}), "top": s.get("profile_top", [])[:8],
            "report": s["report_dir"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=200)
    ap.add_argument("--rates", default="5,10,20,40,80,160",
                    help="comment rates to try in order; stops after the first whose translated "
                         "p99 passes 1 s (5,10,20,40,80,160)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per rate (30)")
    ap.add_argument("--langs", default="en:1,pt:1")
    ap.add_argument("--processes", type=int, default=1, help="locust processes (1)")
    ap.add_argument("--out", default="", help="report folders go here (one per rate)")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG")
    ap.add_argument("--no-profile", action="store_true", help="do not run py-spy")
    args = ap.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="babelcast-saturation-"))
    rows = []
    for rate in (float(x) for x in args.rates.split(",")):
        print(f"rate {rate:g}/s ...", file=sys.stderr, flush=True)
        summary = run_e2e(E2EOptions(
            viewers=args.viewers, rate=rate, duration=args.duration, langs=args.langs,
            reaction_share=0.0, burst_every=0.0, processes=args.processes,
            out=str(out / f"rate-{rate:g}"), server_args=args.server_arg, progress=False,
            profile=not args.no_profile))
        rows.append(row(rate, summary))
        p99 = rows[-1]["translated_p99_ms"] or 0.0
        print(f"  translated p99 {p99:.0f} ms", file=sys.stderr)
        if p99 > LIMIT_MS:
            break
    m = machine()
    print(f"saturation: {args.viewers} viewers ({args.langs}), {args.duration:g} s per rate; "
          f"{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}\n")
    print("| comments/s | published | translated p50 / p99 ms | untranslated p99 ms | "
          "deliveries/s | lost | mean batch | shed | timeouts | gateway CPU % | client CPU % | "
          "profile: model / langid / fan-out / other |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        parts = r["parts"]
        share = " / ".join(f"{parts.get(k, 0):.0%}" for k in
                           ("translation model", "language ID", "fan-out", "other"))
        print(f"| {r['rate']:g} | {r['published']} | {r['translated_p50_ms']} / "
              f"{r['translated_p99_ms']} | {r['untranslated_p99_ms']} | {r['deliveries_per_s']} "
              f"| {r['lost']} | {r['mean_batch']} | {r['shed']:.0f} | {r['timeouts']:.0f} | "
              f"{r['gateway_cpu_pct']} | {r['client_cpu_pct']} | {share} |")
    last = rows[-1]
    passed = (last["translated_p99_ms"] or 0) > LIMIT_MS
    print(f"\n{'p99 passed 1 s at' if passed else 'p99 stayed under 1 s up to'} "
          f"{last['rate']:g} comments/s. Top of the gateway profile there (self time):")
    for t in last["top"]:
        print(f"  {t['share']:6.1%}  {t['function']}")
    (out / "saturation.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\nreports: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
