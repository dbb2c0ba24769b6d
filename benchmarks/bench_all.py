"""``babelcast bench all``: every benchmark at a small, quick scale (a few minutes on 2 cores),
then the generated section of ``benchmarks/RESULTS.md`` is replaced with the results, the
date, the machine and the exact commands. Everything outside the markers
``<!-- bench-all:start -->`` / ``<!-- bench-all:end -->`` (the hand-written sections) is kept;
without markers the section is appended at the end.

    babelcast bench all                    # all four, ~3 minutes on 2 quiet cores
    babelcast bench all --only e2e,langid  # some of them
    babelcast bench all --results /tmp/RESULTS.md --no-write
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
START = "<!-- bench-all:start -->"
END = "<!-- bench-all:end -->"


@dataclass(frozen=True)
class QuickBenchmark:
    """One benchmark script at its quick scale."""

    name: str
    args: tuple[str, ...]  # after `python`
    keep: Callable[[str], str]  # what of its output goes into RESULTS.md

    def command(self) -> str:
        return "python " + " ".join(self.args)


def _between(start: str, end: str = "", limit: int = 6000) -> Callable[[str], str]:
    """Keep the output from the line containing ``start`` (the beginning if absent) to the
    line containing ``end`` (exclusive; the end if absent or empty), at most ``limit``
    characters from there."""
    def keep(out: str) -> str:
        i = out.find(start) if start else 0
        i = out.rfind("\n", 0, i) + 1 if i > 0 else 0
        j = out.find(end, i) if end else -1
        j = out.rfind("\n", i, j) if j >= 0 else len(out)
        return out[i:j][:limit]
    return keep


def quick_benchmarks(tmp: Path) -> list[QuickBenchmark]:
    """The four benchmarks with small-scale options."""
    return [
        QuickBenchmark("fanout", (
            "benchmarks/fanout.py", "--viewers", "300", "--comments", "60", "--warmup", "20",
            "--scenarios", "baseline,babelcast", "--quiet-wait-s", "0", "--max-retries", "0",
            "--no-pin"), _between("fan-out:")),
        QuickBenchmark("batching", (
            "benchmarks/batching.py", "--rates", "10", "--duration", "3",
            "--min-comments", "20", "--saturation-comments", "40", "--embedded-comments",
            "20", "--model-dir", str(tmp / "batching-model")), _between("")),
        QuickBenchmark("langid", ("benchmarks/langid_eval.py", "--no-lingua", "--seconds",
                                  "0.3"), _between("", limit=3500)),
        QuickBenchmark("e2e", (
            "-m", "babelcast.gateway", "bench", "e2e", "--viewers", "100", "--rate", "5",
            "--duration", "20", "--burst-every", "8", "--no-progress", "--out", str(tmp / "e2e")),
            _between("| delivery |", "Plots:")),
    ]


def replace_section(document: str, section: str) -> str:
    """``document`` with the text between the bench-all markers replaced by ``section``
    (markers kept); appended at the end when the markers are missing. Raises ``ValueError``
    when only one marker is there or they are out of order, rather than guess."""
    start, end = document.find(START), document.find(END)
    block = f"{START}\n{section.strip()}\n{END}"
    if start < 0 and end < 0:
        return document.rstrip("\n") + "\n\n" + block + "\n"
    if start < 0 or end < start:
        raise ValueError(f"RESULTS.md has a broken generated section: put {START} before "
                         f"{END}, or remove both")
    return document[:start] + block + document[end + len(END):]


def run_one(bench: QuickBenchmark, env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, *bench.args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr[-2000:] * (proc.returncode != 0), \
        time.monotonic() - started


def section_text(results: list[tuple[QuickBenchmark, int, str, float]],
                 machine: dict[str, object], tmp: Path) -> str:
    """The generated section of RESULTS.md."""
    lines = ["## Quick run of every benchmark (`babelcast bench all`, generated)", "",
             f"Date: {time.strftime('%Y-%m-%d %H:%M %Z')}. Machine: {machine['cpus']} CPUs "
             f"({machine['cpu_model']}), Python {machine['python']}, {machine['platform']}. "
             "Small scale, machine not necessarily quiet: read the ratios, not the absolute "
             "numbers; the hand-written sections above have the full-size runs.", ""]
    for bench, rc, out, seconds in results:
        status = "ok" if rc == 0 else f"exit code {rc}"
        lines += [f"### {bench.name} ({seconds:.0f} s, {status})", "", "```sh",
                  bench.command().replace(str(tmp), "$TMP"), "```", "", "```",
                  bench.keep(out).strip(), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="babelcast bench all", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="", help="comma-separated subset of: fanout, batching, "
                                               "langid, e2e")
    ap.add_argument("--results", default=str(BENCH_DIR / "RESULTS.md"),
                    help="the results file to refresh (benchmarks/RESULTS.md)")
    ap.add_argument("--no-write", action="store_true", help="print the section only")
    args = ap.parse_args(argv)
    from e2e import machine  # benchmarks/ is on sys.path (bench_command puts it there)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        benches = quick_benchmarks(Path(tmp))
        wanted = {x.strip() for x in args.only.split(",") if x.strip()}
        unknown = wanted - {b.name for b in benches}
        if unknown:
            ap.exit(2, f"babelcast bench all: unknown benchmark(s) {', '.join(sorted(unknown))}"
                       "; choose from fanout, batching, langid, e2e\n")
        for bench in benches:
            if wanted and bench.name not in wanted:
                continue
            print(f"running {bench.name}: {bench.command()}", file=sys.stderr, flush=True)
            rc, out, seconds = run_one(bench, env)
            print(f"  {bench.name}: exit {rc} after {seconds:.0f} s", file=sys.stderr)
            results.append((bench, rc, out, seconds))
        section = section_text(results, machine(), Path(tmp))
    if args.no_write:
        print(section)
    else:
        path = Path(args.results)
        old = path.read_text() if path.exists() else "# Benchmark results\n"
        path.write_text(replace_section(old, section))
        print(f"refreshed the generated section of {path}")
    return 0 if all(rc == 0 for _, rc, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
