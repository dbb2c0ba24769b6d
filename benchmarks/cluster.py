"""Cluster benchmark: one process vs translator + two gateway nodes on Redis.

Starts its own ``redis-server`` on a free port, then measures the same load against

* ``single``: the default one-process ``python -m gateway serve`` (MemoryBus, no Redis), and
* ``cluster``: ``--role translator`` + two ``--role gateway`` nodes sharing that Redis.

Viewers (half ``lang=en``, half ``lang=pt``; in the cluster half on each gateway node) join
room ``bench``; one sender (``lang=en``, on the first node) sends ``--comments`` distinct
English comments at ``--rate`` per second. Every comment carries its send timestamp
(``time.monotonic_ns()``, system-wide on Linux) as a ``#t<ns>`` tag, read back from the
``original`` field of the ``comment`` frame. End-to-end latency:

* same-language delivery (en viewers): arrival of the ``comment`` frame;
* translated delivery (pt viewers): arrival of the translated text, i.e. the ``comment``
  frame when it has ``translated: true``, else the later ``translation`` frame of that id.

Redis commands per delivery = sum of ``calls`` in ``INFO commandstats`` after minus before
the measured phase, divided by the comment frames delivered in it.

    python benchmarks/cluster.py --viewers 200 --comments 200 --rate 20 --json-out /tmp/c.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import redis
import websockets
from tqdm import tqdm

HOST = "127.0.0.1"
ROOM = "bench"
TAG_RE = re.compile(r"#([tw])(\d+)")
RATE_FLAGS = ["--rate-limit-per-s", "1000000", "--rate-limit-burst", "1000000",
              "--log-level", "warning"]

PRODUCTS = ["dress", "sneakers", "jacket", "lipstick", "blender", "backpack", "watch",
            "headphones", "sunglasses", "perfume", "phone case", "coffee maker", "scarf",
            "skincare set", "yoga mat", "lamp"]
TEMPLATES = [
    "How much is the {p} number {n}?",
    "Does the {p} come in other colors? I want option {n}",
    "I just ordered the {p}, can you ship it today? order {n}",
    "Is the {p} still available in size {n}?",
    "Can you show the {p} again please, I missed it ({n})",
    "What is the material of this {p}? asking for the {n} time",
    "I love this {p}, adding {n} to my cart",
    "Is there a discount if I buy {n} of the {p}?",
    "How long does delivery take for the {p}? I am in zone {n}",
    "Does the {p} have a warranty? question {n}",
]


def comment_text(i: int, tag: str) -> str:
    rnd = random.Random(i)
    p = rnd.choice(PRODUCTS)
    return rnd.choice(TEMPLATES).format(p=p, n=i + 1) + f" #{tag}{time.monotonic_ns()}"


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Procs:
    """Children started in their own sessions; all killed (group-wide) on exit."""

    def __init__(self, logdir: str) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logdir = logdir

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(os.path.join(self.logdir, f"{name}.log"), "wb")  # noqa: SIM115
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append((name, p))
        return p

    def stop(self, names: list[str] | None = None) -> None:
        keep = []
        for name, p in self.procs:
            if names is not None and name not in names:
                keep.append((name, p))
                continue
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
        self.procs = keep

    def tail(self, name: str, n: int = 30) -> str:
        path = os.path.join(self.logdir, f"{name}.log")
        with contextlib.suppress(OSError), open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
        return ""

    def check_alive(self) -> None:
        for name, p in self.procs:
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{self.tail(name)}")


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError):
        return 0, None


def wait_ready(procs: Procs, port: int, need_engines: bool, deadline_s: float = 120) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        procs.check_alive()
        code, body = get_json(f"http://{HOST}:{port}/readyz")
        if code == 200 and body and (not need_engines or body.get("engines")):
            return body
        time.sleep(0.2)
    raise TimeoutError(f"port {port} not ready within {deadline_s} s")


def serve_argv(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "babelcast.gateway", "serve", "--port", str(port), *RATE_FLAGS,
            *extra]


def start_redis(procs: Procs) -> tuple[str, int]:
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    procs.start("redis", [exe, "--port", str(port), "--bind", HOST, "--save", "",
                          "--appendonly", "no", "--dir", procs.logdir])
    r = redis.Redis(host=HOST, port=port)
    end = time.monotonic() + 10
    while True:
        try:
            r.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > end:
                raise
            procs.check_alive()
            time.sleep(0.05)
    return f"redis://{HOST}:{port}/0", port


def redis_cmdstats(port: int) -> dict[str, int]:
    r = redis.Redis(host=HOST, port=port)
    try:
        stats = r.info("commandstats")
    finally:
        r.close()
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def redis_calls(port: int) -> int:
    return sum(redis_cmdstats(port).values())


# --------------------------------------------------------------------------- load client


@dataclass
class Tally:
    lang: str
    same_lat_ms: list[float] = field(default_factory=list)
    tx_lat_ms: list[float] = field(default_factory=list)
    comments: int = 0           # measured comment frames received
    translated: int = 0         # measured translated texts received (pt viewers)
    untranslated_final: int = 0  # pt: comment final without translation (reason set)
    translation_frames: int = 0
    pending: dict[str, int] = field(default_factory=dict)  # id -> send ns
    last_ns: int = 0


async def viewer(ws: Any, t: Tally, stop: asyncio.Event) -> None:
    with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
        async for raw in ws:
            now = time.monotonic_ns()
            f = json.loads(raw)
            kind = f.get("type")
            if kind == "comment":
                m = TAG_RE.search(f.get("original", ""))
                if not m or m.group(1) != "t":
                    continue
                sent = int(m.group(2))
                t.comments += 1
                t.last_ns = now
                if t.lang == "en":
                    t.same_lat_ms.append((now - sent) / 1e6)
                elif f.get("translated"):
                    t.translated += 1
                    t.tx_lat_ms.append((now - sent) / 1e6)
                elif f.get("pending"):
                    t.pending[f["id"]] = sent
                else:
                    t.untranslated_final += 1
            elif kind == "translation":
                sent = t.pending.pop(f.get("id"), None)
                if sent is None:
                    continue
                t.translation_frames += 1
                t.last_ns = now
                if f.get("translated"):
                    t.translated += 1
                    t.tx_lat_ms.append((now - sent) / 1e6)
                else:
                    t.untranslated_final += 1


async def connect(port: int, lang: str, name: str) -> Any:
    ws = await websockets.connect(
        f"ws://{HOST}:{port}/v1/rooms/{ROOM}/ws?lang={lang}&name={name}",
        compression=None, ping_interval=None, max_size=2**22, open_timeout=30)
    first = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if first.get("type") != "welcome":
        raise RuntimeError(f"expected welcome, got {first}")
    return ws


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


async def run_load(ports: list[int], args: argparse.Namespace, redis_port: int | None,
                   label: str) -> dict[str, Any]:
    n = args.viewers
    tallies: list[Tally] = []
    sockets: list[Any] = []
    stop = asyncio.Event()
    bar = tqdm(total=n + 1, desc=f"{label}: connect", unit="conn", leave=False)
    plan = [(ports[i % len(ports)], "en" if (i // len(ports)) % 2 == 0 else "pt", f"v{i}")
            for i in range(n)]
    for k in range(0, n, 20):
        chunk = plan[k:k + 20]
        socks = await asyncio.gather(*(connect(p, lang, nm) for p, lang, nm in chunk))
        for (_, lang, _), ws in zip(chunk, socks, strict=True):
            sockets.append(ws)
            tallies.append(Tally(lang))
        bar.update(len(chunk))
    sender = await connect(ports[0], "en", "sender")
    bar.update(1)
    bar.close()
    tasks = [asyncio.create_task(viewer(ws, t, stop)) for ws, t in zip(sockets, tallies,
                                                                         strict=True)]

    async def drain_sender() -> None:
        with contextlib.suppress(websockets.ConnectionClosed, asyncio.CancelledError):
            async for _ in sender:
                pass
    dtask = asyncio.create_task(drain_sender())

    # Warm-up (unmeasured): loads models / fills pools; tagged #w so receivers skip it.
    for i in range(args.warmup):
        await sender.send(json.dumps({"type": "comment", "client_id": f"w{i}",
                                      "text": comment_text(100_000 + i, "w")}))
        await asyncio.sleep(1 / args.rate)
    idle0 = redis_calls(redis_port) if redis_port else None
    await asyncio.sleep(args.settle_s)

    stats0 = redis_cmdstats(redis_port) if redis_port else {}
    calls0 = sum(stats0.values()) if redis_port else None
    idle_s = args.settle_s
    t0 = time.monotonic_ns()
    interval = 1 / args.rate
    start = time.monotonic()
    for i in tqdm(range(args.comments), desc=f"{label}: send", unit="msg", leave=False):
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await sender.send(json.dumps({"type": "comment", "client_id": f"c{i}",
                                      "text": comment_text(i, "t")}))
    send_s = time.monotonic() - start

    n_en = sum(t.lang == "en" for t in tallies)
    n_pt = n - n_en
    exp_same, exp_tx = args.comments * n_en, args.comments * n_pt
    end = time.monotonic() + args.timeout_s
    while time.monotonic() < end:
        same = sum(t.comments for t in tallies if t.lang == "en")
        done_tx = sum(t.translated + t.untranslated_final for t in tallies if t.lang == "pt")
        if same >= exp_same and done_tx >= exp_tx:
            break
        await asyncio.sleep(0.05)
    stats1 = redis_cmdstats(redis_port) if redis_port else {}
    calls1 = sum(stats1.values()) if redis_port else None

    stop.set()
    for task in [*tasks, dtask]:
        task.cancel()
    await asyncio.gather(*tasks, dtask, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in [*sockets, sender]), return_exceptions=True)

    same = [x for t in tallies for x in t.same_lat_ms]
    tx = [x for t in tallies for x in t.tx_lat_ms]
    comments = sum(t.comments for t in tallies)
    last = max((t.last_ns for t in tallies), default=t0)
    span_s = max(1e-9, (last - t0) / 1e9)
    got_same = len(same)
    got_tx = sum(t.translated for t in tallies)
    unfinal = sum(t.untranslated_final for t in tallies)
    deliveries = got_same + got_tx
    out = {
        "label": label, "viewers": n, "viewers_en": n_en, "viewers_pt": n_pt,
        "comments": args.comments, "rate": args.rate, "send_s": round(send_s, 3),
        "span_s": round(span_s, 3),
        "expected_same": exp_same, "received_same": got_same,
        "expected_translated": exp_tx, "received_translated": got_tx,
        "untranslated_fallbacks": unfinal,
        "still_pending": sum(len(t.pending) for t in tallies),
        "comment_frames": comments,
        "translation_frames": sum(t.translation_frames for t in tallies),
        "deliveries": deliveries,
        "deliveries_per_s": round(deliveries / span_s, 1),
        "loss": (exp_same + exp_tx) - deliveries,
        "loss_pct": round(100 * ((exp_same + exp_tx) - deliveries) / max(1, exp_same + exp_tx),
                          3),
        "same_p50_ms": pct(same, 50), "same_p99_ms": pct(same, 99),
        "tx_p50_ms": pct(tx, 50), "tx_p99_ms": pct(tx, 99),
        "same_mean_ms": statistics.fmean(same) if same else None,
        "tx_mean_ms": statistics.fmean(tx) if tx else None,
        "redis_calls": (calls1 - calls0) if calls0 is not None else None,
    }
    if calls0 is not None and idle0 is not None:
        out["redis_cmds_per_delivery"] = round(out["redis_calls"] / max(1, comments), 3)
        out["redis_cmds_per_comment"] = round(out["redis_calls"] / args.comments, 1)
        # background traffic (heartbeats, presence, blocking XREAD/XREADGROUP) with no load
        out["redis_cmds_by_name"] = dict(sorted(
            ((k, v - stats0.get(k, 0)) for k, v in stats1.items() if v - stats0.get(k, 0)),
            key=lambda kv: -kv[1]))
        out["redis_idle_cmds_per_s"] = round((calls0 - idle0 - 1) / idle_s, 1)
    return out


# --------------------------------------------------------------------------- scenarios


def run_single(procs: Procs, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    procs.start("single", serve_argv(port))
    wait_ready(procs, port, need_engines=False)
    try:
        return asyncio.run(run_load([port], args, None, "single"))
    finally:
        procs.check_alive()
        procs.stop(["single"])


def run_cluster(procs: Procs, args: argparse.Namespace, url: str,
                redis_port: int) -> dict[str, Any]:
    p0, p1, p2 = free_port(), free_port(), free_port()
    procs.start("translator", serve_argv(p0, "--role", "translator", "--redis-url", url))
    procs.start("gw1", serve_argv(p1, "--role", "gateway", "--redis-url", url))
    procs.start("gw2", serve_argv(p2, "--role", "gateway", "--redis-url", url))
    wait_ready(procs, p0, need_engines=False)
    info = {p: wait_ready(procs, p, need_engines=True) for p in (p1, p2)}
    print(f"cluster ready: gateways see engines {info[p1].get('engines')}", file=sys.stderr)
    try:
        out = asyncio.run(run_load([p1, p2], args, redis_port, "cluster"))
        out["translator_stats"] = get_json(f"http://{HOST}:{p0}/v1/stats")[1]
        return out
    finally:
        procs.check_alive()
        procs.stop(["translator", "gw1", "gw2"])


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def table(single: dict[str, Any], cluster: dict[str, Any]) -> str:
    rows = [
        ("deliveries/s", "deliveries_per_s"),
        ("same-language p50 (ms)", "same_p50_ms"),
        ("same-language p99 (ms)", "same_p99_ms"),
        ("translated p50 (ms)", "tx_p50_ms"),
        ("translated p99 (ms)", "tx_p99_ms"),
        ("expected deliveries", None),
        ("received deliveries", "deliveries"),
        ("loss", "loss"),
        ("untranslated fallbacks (pt)", "untranslated_fallbacks"),
        ("Redis commands / delivered comment frame", "redis_cmds_per_delivery"),
        ("Redis commands / sent comment", "redis_cmds_per_comment"),
        ("Redis commands/s when idle (settle phase)", "redis_idle_cmds_per_s"),
    ]
    lines = ["| metric | single | cluster | cluster/single |", "|---|---:|---:|---:|"]
    for name, key in rows:
        nd = 3 if key == "redis_cmds_per_delivery" else 1
        if key is None:
            a = single["expected_same"] + single["expected_translated"]
            b = cluster["expected_same"] + cluster["expected_translated"]
        else:
            a, b = single.get(key), cluster.get(key)
        ratio = (f"{b / a:.2f}x" if isinstance(a, (int, float)) and isinstance(b, (int, float))
                 and a else "-")
        lines.append(f"| {name} | {fmt(a, nd)} | {fmt(b, nd)} | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--viewers", type=int, default=200)
    ap.add_argument("--comments", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0, help="comments per second")
    ap.add_argument("--warmup", type=int, default=10, help="unmeasured comments first")
    ap.add_argument("--settle-s", type=float, default=2.5)
    ap.add_argument("--timeout-s", type=float, default=30.0,
                    help="after the last send, wait at most this long for deliveries")
    ap.add_argument("--scenarios", default="single,cluster")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    if args.viewers < 2 or args.comments < 1 or args.rate <= 0:
        ap.error("need --viewers >= 2, --comments >= 1, --rate > 0")

    logdir = tempfile.mkdtemp(prefix="babelcast-cluster-")
    procs = Procs(logdir)
    results: dict[str, Any] = {"args": vars(args), "logdir": logdir}
    old = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        scen = args.scenarios.split(",")
        if "single" in scen:
            results["single"] = run_single(procs, args)
        if "cluster" in scen:
            url, rport = start_redis(procs)
            results["cluster"] = run_cluster(procs, args, url, rport)
    except BaseException:
        for name, _ in procs.procs:
            print(f"--- {name} log tail ---\n{procs.tail(name)}", file=sys.stderr)
        raise
    finally:
        procs.stop()
        signal.signal(signal.SIGTERM, old)

    for k in ("single", "cluster"):
        if k in results:
            r = {x: y for x, y in results[k].items()
                 if x not in ("translator_stats", "redis_cmds_by_name")}
            print(f"{k}: {json.dumps(r)}")
    if "single" in results and "cluster" in results:
        print()
        print(table(results["single"], results["cluster"]))
    if "cluster" in results:
        print(f"Redis commands in the measured phase: {results['cluster']['redis_cmds_by_name']}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)
    print(f"server logs: {logdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
