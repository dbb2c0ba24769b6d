#!/usr/bin/env python
"""Fan-out benchmark: one room, N viewers, M comments from one sender.

Scenarios (each against a fresh server process; this process is the load client):

  baseline   a bare ``websockets`` asyncio server that answers each comment with an ack and
             ``websockets.broadcast``-s one pre-encoded comment frame to every connection:
             the floor of Python WebSocket fan-out
  babelcast  ``python -m gateway serve`` (the real app), every viewer reading ``en``
  stalled    babelcast with ``--stalled-fraction`` of the viewers stalled: raw sockets with a
             tiny SO_RCVBUF that finish the handshake and never read again; before the
             measured phase they are filled (see LoadClient.fill_stalled) until the server's
             writes to them are really blocked

Deliveries/s = comment frames received by all fast viewers / (last delivery - first send).
Latency = receive time - send time, both ``time.monotonic_ns()`` (system-wide on Linux), the
send time travelling inside the comment text.

Run ``python benchmarks/fanout.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import _wsload  # noqa: E402

HOST = "127.0.0.1"
PAD_WORDS = "the quick brown fox jumps over the lazy dog "
BABELCAST_FLAGS = ["--rate-limit-per-s", "1000000", "--rate-limit-burst", "1000000",
                   "--send-queue-frames", "1024", "--log-level", "warning",
                   "--translation-wait-ms", "250"]


# ---------------------------------------------------------------------------------------
# Baseline server (runs in its own process: ``fanout.py --baseline-server PORT``)
# ---------------------------------------------------------------------------------------
def run_baseline_server(port: int) -> None:
    import asyncio
    from http import HTTPStatus

    from websockets.asyncio.server import broadcast, serve

    async def main() -> None:
        clients: set[Any] = set()
        seq = 0

        def process_request(connection: Any, request: Any) -> Any:
            if request.path.startswith("/readyz"):
                return connection.respond(HTTPStatus.OK, "ready\n")
            return None

        async def handler(ws: Any) -> None:
            nonlocal seq
            await ws.send('{"type":"welcome","protocol":1}')
            clients.add(ws)
            try:
                async for message in ws:
                    obj = json.loads(message)
                    seq += 1
                    # Same order as babelcast: the ack goes out first, then the fan-out.
                    broadcast([ws], json.dumps(
                        {"type": "ack", "client_id": obj.get("client_id"), "id": str(seq),
                         "src_lang": "en"}, separators=(",", ":")))
                    # One frame, encoded once, shaped like babelcast's comment frame.
                    text = obj["text"]
                    frame = json.dumps(
                        {"type": "comment", "id": str(seq), "user": "sender",
                         "user_id": "u-00000000", "src_lang": "en", "lang": "en",
                         "ts": time.time(), "original": text, "text": text,
                         "translated": False, "pending": False, "reason": None},
                        ensure_ascii=False, separators=(",", ":"))
                    broadcast(clients, frame)
            finally:
                clients.discard(ws)

        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set_result, None)
        async with serve(handler, HOST, port, process_request=process_request,
                         compression=None, max_size=1 << 20):
            await stop

    asyncio.run(main())


# ---------------------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_seconds() -> float:
    """Busy CPU time of the whole machine (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    busy = sum(vals[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def wait_for_quiet(max_wait_s: float, threshold: float = 0.25) -> float:
    """Wait (up to ``max_wait_s``) until the machine's busy CPU, sampled over 1 s, is below
    ``threshold`` cores. Returns the last sample (cores busy)."""
    deadline = time.monotonic() + max_wait_s
    while True:
        b0, t0 = system_busy_seconds(), time.monotonic()
        time.sleep(1.0)
        busy = (system_busy_seconds() - b0) / (time.monotonic() - t0)
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        print(f"  machine busy ({busy:.1f} cores used by other processes); waiting ...",
              file=sys.stderr, flush=True)


@dataclass
class Server:
    kind: str  # "baseline" or "babelcast"
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str] = field(default_factory=list)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}; "
                                   f"log:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = http_get(self.port, "/readyz", timeout=1.0)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} server not ready after {timeout:.0f}s; log:\n"
                           f"{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_server(kind: str, port: int, logdir: Path, *, ws_impl: str | None,
                 server_cpu: int | None, cprofile: Path | None,
                 extra_args: tuple[str, ...] = ()) -> Server:
    py = [sys.executable]
    if cprofile is not None:
        py += ["-m", "cProfile", "-o", str(cprofile)]
    if kind == "baseline":
        argv = [*py, str(Path(__file__).resolve()), "--baseline-server", str(port)]
    else:
        argv = [*py, "-m", "babelcast.gateway", "serve", "--port", str(port), *BABELCAST_FLAGS]
        if ws_impl:
            argv += ["--ws-impl", ws_impl]
        argv += extra_args
    log_path = logdir / f"{kind}-{port}.log"
    preexec = (lambda: os.sched_setaffinity(0, {server_cpu})) if server_cpu is not None \
        else None
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=preexec)
    return Server(kind, port, proc, log_path, argv)


# ---------------------------------------------------------------------------------------
# One scenario
# ---------------------------------------------------------------------------------------
@dataclass
class Scenario:
    name: str  # as given on the command line
    server: str  # "baseline" | "babelcast"
    stalled_fraction: float
    ws_impl: str | None

    @property
    def label(self) -> str:
        if self.server == "baseline":
            return "baseline (websockets.broadcast)"
        label = "babelcast"
        if self.stalled_fraction:
            label += f", {self.stalled_fraction:.0%} stalled"
        if self.ws_impl:
            label += f" [ws-impl {self.ws_impl}]"
        return label


def parse_scenarios(spec: str, stalled_fraction: float) -> list[Scenario]:
    out = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        base, _, impl = item.partition("@")
        if base == "baseline":
            out.append(Scenario(item, "baseline", 0.0, None))
        elif base == "babelcast":
            out.append(Scenario(item, "babelcast", 0.0, impl or None))
        elif base == "stalled":
            out.append(Scenario(item, "babelcast", stalled_fraction, impl or None))
        else:
            raise SystemExit(f"unknown scenario {item!r}: use baseline, babelcast, stalled, "
                             "optionally with @WS_IMPL (e.g. babelcast@websockets)")
    return out


def percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[i] / 1e6


def run_scenario(sc: Scenario, args: argparse.Namespace, logdir: Path,
                 tqdm: Any) -> dict[str, Any]:
    port = free_port()
    cprofile = (Path(args.cprofile_dir) / f"{sc.name.replace('@', '_')}.prof"
                if args.cprofile_dir and sc.server == "babelcast" else None)
    server = start_server(sc.server, port, logdir, ws_impl=sc.ws_impl,
                          server_cpu=args.server_cpu, cprofile=cprofile,
                          extra_args=tuple(args.server_arg))
    client = _wsload.LoadClient(HOST, port)
    result: dict[str, Any] = {"scenario": sc.name, "label": sc.label,
                              "server_argv": server.argv}
    try:
        server.wait_ready(args.ready_timeout)
        n_stalled = round(args.viewers * sc.stalled_fraction)
        n_fast = args.viewers - n_stalled
        # Spread the stalled viewers evenly through the join order.
        stalled_at = {int((k + 0.5) * args.viewers / n_stalled) for k in range(n_stalled)} \
            if n_stalled else set()
        t_connect = time.monotonic()
        with tqdm(total=args.viewers + 1, desc=f"{sc.name}: connect", unit="conn",
                  leave=False, file=sys.stderr) as bar:
            for i in range(args.viewers):
                if i in stalled_at:
                    client.add_stalled(f"s{i}")
                else:
                    client.add_viewer(f"v{i}")
                bar.update(1)
                if i % 50 == 49:  # keep up with presence/welcome frames while connecting
                    client.pump(0.0)
            client.add_sender("sender")
            bar.update(1)
        if not client.wait_welcomed(60):
            raise RuntimeError(f"only {len(client.welcomed)}/{client.viewers} viewers got "
                               "their welcome frame")
        result["connect_s"] = round(time.monotonic() - t_connect, 2)
        # Let the join-triggered presence frames go out and drain before measuring.
        client.pump(args.settle_s)
        gc.collect()
        gc.freeze()
        gc.disable()
        pad = (PAD_WORDS * 20)[:args.warmup_pad].strip()
        if args.warmup:
            with tqdm(total=args.warmup, desc=f"{sc.name}: warm-up", unit="msg",
                      leave=False, file=sys.stderr) as bar:
                warm = client.run_phase("warm", args.warmup, rate=0.0, pad=pad,
                                        timeout=args.timeout_s, on_send=lambda: bar.update(1))
            result["warmup"] = {"sent": warm.sent, "delivered": warm.delivered,
                                "expected": warm.expected, "timed_out": warm.timed_out,
                                "wall_s": round(warm.wall_s, 3)}
            client.pump(0.2)
        if n_stalled:
            result["stall_fill"] = client.fill_stalled(port)
        stall_before = _stall_evidence(port, client)
        sys0 = system_busy_seconds()
        cpu0 = cpu_seconds(server.proc.pid)
        with tqdm(total=args.comments, desc=f"{sc.name}: send", unit="msg", leave=False,
                  file=sys.stderr) as bar:
            ph = client.run_phase("bench", args.comments, rate=args.rate, window=args.window,
                                  timeout=args.timeout_s, on_send=lambda: bar.update(1))
        server_cpu = cpu_seconds(server.proc.pid) - cpu0
        other_cpu = system_busy_seconds() - sys0 - server_cpu - ph.client_cpu_s
        gc.enable()
        gc.unfreeze()
        stall_after = _stall_evidence(port, client)
        lat = sorted(ph.latencies_ns)
        result.update({
            "viewers_fast": n_fast, "viewers_stalled": n_stalled,
            "viewers_connected_at_end": ph.viewers,
            "comments": args.comments, "sent": ph.sent, "acks": ph.acks,
            "expected": ph.expected, "delivered": ph.delivered,
            "missing": ph.expected - ph.delivered, "timed_out": ph.timed_out,
            "wall_s": ph.wall_s, "deliveries_per_s": ph.deliveries_per_s,
            "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] / 1e6 if lat else float("nan"),
            "server_cpu_s": server_cpu, "server_cpu_pct": 100 * server_cpu / ph.wall_s,
            "client_cpu_s": ph.client_cpu_s,
            "client_cpu_pct": 100 * ph.client_cpu_s / ph.wall_s,
            "server_cpu_us_per_delivery": 1e6 * server_cpu / max(ph.delivered, 1),
            # CPU used by everything else on the machine meanwhile (other engineers' jobs).
            "other_cpu_pct": max(0.0, 100 * other_cpu / ph.wall_s),
        })
        if n_stalled:
            result["stalled_evidence"] = {"before_measured_phase": stall_before,
                                          "after_measured_phase": stall_after}
        if sc.server == "babelcast":
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                status, body = http_get(port, "/v1/stats")
                if status == 200:
                    st = json.loads(body)
                    result["server_stats"] = {k: st.get(k) for k in (
                        "connections", "frames_dropped", "slow_consumers_closed")}
        return result
    finally:
        client.close()
        time.sleep(0.3)
        server.stop()


def _stall_evidence(port: int, client: _wsload.LoadClient) -> dict[str, Any] | None:
    """Kernel queues of the stalled sockets: bytes the server's socket could not send
    (tx_queue on the server side) and bytes sitting unread on our side (rx_queue)."""
    ports = client.stalled_ports()
    if not ports:
        return None
    q = _wsload.tcp_queues(port)
    server_tx = [q.get((port, p), (0, 0))[0] for p in ports]
    client_rx = [q.get((p, port), (0, 0))[1] for p in ports]
    return {"stalled_sockets": len(ports),
            "still_established": sum(1 for p in ports if (p, port) in q),
            "server_send_queue_bytes_min": min(server_tx),
            "server_send_queue_bytes_max": max(server_tx),
            "client_unread_bytes_min": min(client_rx),
            "client_unread_bytes_max": max(client_rx)}


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
NUMERIC = ("wall_s", "deliveries_per_s", "p50_ms", "p99_ms", "max_ms", "server_cpu_pct",
           "client_cpu_pct", "other_cpu_pct", "server_cpu_us_per_delivery", "delivered",
           "expected", "missing")


def summarize(results: list[dict[str, Any]], scenarios: list[Scenario]) -> list[dict[str, Any]]:
    """One row per scenario: the median of each metric over its successful runs, leaving out
    runs disturbed by other processes unless every run was."""
    out = []
    for sc in scenarios:
        ok = [r for r in results if r["scenario"] == sc.name and "error" not in r]
        if not ok:
            errs = [r for r in results if r["scenario"] == sc.name]
            out.append({"scenario": sc.name, "label": sc.label,
                        "error": errs[-1]["error"] if errs else "not run"})
            continue
        quiet = [r for r in ok if not r["disturbed"]]
        use = quiet or ok
        row = dict(use[-1])
        for k in NUMERIC:
            row[k] = statistics.median(r[k] for r in use)
        row["runs"] = len(use)
        row["disturbed"] = not quiet
        row["timed_out"] = any(r["timed_out"] for r in use)
        out.append(row)
    return out


def table(results: list[dict[str, Any]], runs: bool = False) -> str:
    head = ["scenario", "fast+stalled", "frames", "wall s", "deliveries/s", "p50 ms",
            "p99 ms", "max ms", "srv CPU", "cli CPU", "other CPU", "srv us/frame"]
    head.insert(1, "run" if runs else "runs")
    rows = [head]
    for r in results:
        if runs:
            n = f"{r['repeat'] + 1}" + ("*" if r.get("disturbed") else "")
        else:
            n = f"{r.get('runs', 0)}" + ("*" if r.get("disturbed") else "")
        if "error" in r:
            rows.append([r["label"], n, "error: " + r["error"][:60]] + [""] * (len(head) - 3))
            continue
        frames = f"{r['delivered']:.0f}/{r['expected']:.0f}"
        rows.append([
            r["label"], n, f"{r['viewers_fast']}+{r['viewers_stalled']}", frames,
            f"{r['wall_s']:.2f}", f"{r['deliveries_per_s']:,.0f}", f"{r['p50_ms']:.1f}",
            f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}", f"{r['server_cpu_pct']:.0f}%",
            f"{r['client_cpu_pct']:.0f}%", f"{r['other_cpu_pct']:.0f}%",
            f"{r['server_cpu_us_per_delivery']:.1f}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def ratios(results: list[dict[str, Any]]) -> dict[str, Any]:
    ok = {r["scenario"]: r for r in results if "error" not in r}
    out: dict[str, Any] = {}
    base = ok.get("baseline")
    for name, r in ok.items():
        if r is base:
            continue
        stalled = name.partition("@")[0] == "stalled"
        if base and not stalled:
            out[f"{name} / baseline deliveries/s"] = \
                r["deliveries_per_s"] / base["deliveries_per_s"]
        if stalled:
            impl = name.partition("@")[2]
            fast = ok.get("babelcast" + ("@" + impl if impl else ""))
            if fast:
                out[f"{name} p99 / {fast['scenario']} p99 (fast viewers)"] = \
                    r["p99_ms"] / fast["p99_ms"]
    return out


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    def ver(pkg: str) -> str:
        try:
            return md.version(pkg)
        except md.PackageNotFoundError:
            return "-"

    return {"nproc": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
            "python": platform.python_version(), "platform": platform.platform(),
            "websockets": ver("websockets"), "uvicorn": ver("uvicorn"),
            "starlette": ver("starlette")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=1000, help="viewers in the room (1000)")
    ap.add_argument("--comments", type=int, default=200, help="measured comments (200)")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="comments/s, open loop; 0 (default) = closed loop: the next comment "
                         "is sent as soon as the previous one is acked")
    ap.add_argument("--window", type=int, default=1,
                    help="closed loop only: comments allowed in flight unacked (1)")
    ap.add_argument("--stalled-fraction", type=float, default=0.01,
                    help="share of viewers that never read, in the 'stalled' scenario (0.01)")
    ap.add_argument("--scenarios", default="baseline,babelcast,stalled",
                    help="comma-separated: baseline, babelcast, stalled; babelcast and "
                         "stalled take @WS_IMPL to pass --ws-impl (e.g. babelcast@websockets)")
    ap.add_argument("--warmup", type=int, default=80,
                    help="unmeasured warm-up comments before the measured ones (80); they "
                         "are padded, which also makes the room history (and so the "
                         "set_lang replies used to fill the stalled viewers) large")
    ap.add_argument("--warmup-pad", type=int, default=450,
                    help="characters of padding per warm-up comment (450)")
    ap.add_argument("--settle-s", type=float, default=2.5,
                    help="seconds to drain join/presence traffic before warm-up (2.5)")
    ap.add_argument("--timeout-s", type=float, default=120.0,
                    help="give up on a phase after this many seconds (120)")
    ap.add_argument("--ready-timeout", type=float, default=90.0)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every scenario this many times (interleaved); the table shows "
                         "medians (1)")
    ap.add_argument("--other-cpu-max", type=float, default=15.0,
                    help="a run during which other processes used more than this %% of a CPU "
                         "is 'disturbed': it is run again (up to --max-retries) and left out "
                         "of the medians when a quiet run exists (15)")
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--quiet-wait-s", type=float, default=60.0,
                    help="before each scenario wait up to this long for other processes to "
                         "leave the CPUs idle (60; 0 = don't wait)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the server to CPU 0 and this client to CPU 1")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for 'babelcast serve' (repeat; e.g. "
                         "--server-arg=--stall-timeout-s --server-arg=600)")
    ap.add_argument("--cprofile-dir", help="run babelcast under cProfile, .prof files here")
    ap.add_argument("--json-out", metavar="PATH", help="write all results as JSON")
    ap.add_argument("--baseline-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.baseline_server:
        run_baseline_server(args.baseline_server)
        return 0

    try:
        from tqdm import tqdm
    except ImportError:
        raise SystemExit("tqdm is needed: pip install -e '.[bench]'") from None

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.viewers + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))

    cpus = sorted(os.sched_getaffinity(0))
    args.server_cpu = None
    if not args.no_pin and len(cpus) >= 2:
        args.server_cpu = cpus[0]
        os.sched_setaffinity(0, {cpus[1]})
    if args.cprofile_dir:
        Path(args.cprofile_dir).mkdir(parents=True, exist_ok=True)

    scenarios = parse_scenarios(args.scenarios, args.stalled_fraction)
    results = []
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        logdir = Path(tmp)
        for rep in range(args.repeat):
            for sc in scenarios:
                for attempt in range(args.max_retries + 1):
                    tag = f" (run {rep + 1}/{args.repeat})" if args.repeat > 1 else ""
                    print(f"running {sc.label}{tag} ...", file=sys.stderr, flush=True)
                    busy = wait_for_quiet(args.quiet_wait_s) if args.quiet_wait_s > 0 \
                        else None
                    try:
                        r = run_scenario(sc, args, logdir, tqdm)
                    except Exception as exc:  # report and go on with the other scenarios
                        logs = "".join(p.read_text(errors="replace")[-1500:]
                                       for p in logdir.glob("*.log"))
                        print(f"{sc.name} failed: {exc!r}\n{logs}", file=sys.stderr)
                        r = {"scenario": sc.name, "label": sc.label, "error": repr(exc)}
                    r.update(repeat=rep, attempt=attempt, busy_cores_before=busy)
                    r["disturbed"] = r.get("other_cpu_pct", 0.0) > args.other_cpu_max
                    results.append(r)
                    if not r["disturbed"]:
                        break
                    print(f"  disturbed: other processes used {r['other_cpu_pct']:.0f}% CPU "
                          "during the measured phase; running it again", file=sys.stderr)

    mode = "closed loop (next comment on ack)" if args.rate <= 0 else f"{args.rate:g} comments/s"
    print()
    print(f"fan-out: {args.viewers} viewers, {args.comments} comments, {mode}, "
          f"{args.warmup} warm-up comments; server pinned to CPU {args.server_cpu}, "
          f"client to CPU {cpus[1] if args.server_cpu is not None else '-'}")
    summary = summarize(results, scenarios)
    print(table(summary))
    if args.repeat > 1 or len(results) > len(scenarios):
        print("\nindividual runs:")
        print(table(results, runs=True))
    rat = ratios(summary)
    print()
    for k, v in rat.items():
        target = ">= 0.8" if "deliveries" in k else "<= 1.1"
        met = (v >= 0.8) if "deliveries" in k else (v <= 1.1)
        note = f"target {target}: {'met' if met else 'NOT met'}"
        if "deliveries" in k and args.rate > 0:
            note = ("open loop at a fixed rate: both servers only deliver the offered load, "
                    "so this ratio says nothing about capacity; use --rate 0")
        print(f"{k}: {v:.2f}  ({note})")
    for r in summary:
        if r.get("server_stats"):
            print(f"{r['scenario']}: server stats {r['server_stats']}")
        if r.get("stalled_evidence"):
            print(f"{r['scenario']}: stalled sockets {r['stalled_evidence']}")
        if r.get("timed_out"):
            print(f"{r['scenario']}: TIMED OUT, {r['missing']} frames missing")

    if args.json_out:
        for r in results:
            r.pop("latencies_ns", None)
        doc = {"args": {k: v for k, v in vars(args).items() if k != "baseline_server"},
               "environment": environment(), "summary": summary, "runs": results,
               "ratios": rat,
               "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        Path(args.json_out).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json_out}")
    return 0 if all("error" not in r for r in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
