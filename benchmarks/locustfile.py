"""Locust users that speak the babelcast v1 WebSocket protocol.

    babelcast bench e2e --viewers 200 --rate 10 --duration 60      # the usual way
    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8000 --headless -u 50 -r 25 \\
        -t 30s --bc-rate 5                                           # plain locust works too

Users (locust has no WebSocket user, so ``BabelcastUser`` is a plain ``User`` around a plain
socket, which locust's gevent monkey-patching makes cooperative, with the stdlib-only handshake
and frame code of ``_wsload.py``; ``websocket-client`` worked too but cost several times more
CPU per frame, and one locust process has to read tens of thousands of frames a second):

- ``Viewer``: reads the room in one language of ``--bc-langs`` (weighted) and comments now and
  then, so that all viewers together send ``--bc-rate`` comments per second (Poisson). A share
  of the comments (``--bc-reaction-share``) are short repeated reactions ("quero!", "🔥🔥") that
  the translation cache catches; the others are real chat lines of the viewer's language from
  ``benchmarks/data/langid_chat_dev.tsv``.
- Bursts (a product reveal, a flash sale): every ``--bc-burst-every`` seconds a
  ``--bc-burst-fraction`` of the viewers each send one comment within one second.
- ``Host``: one connection with ``role=host`` (when ``--bc-host-key`` is given) that only reads,
  in ``--bc-host-lang``.

Measuring: every measured comment ends with a hashtag carrying its send time,
``#t<time.time_ns()>`` (hashtags are protected spans, so translation keeps them; the receiver
reads the time from the ``original`` field anyway). A receiver reports one locust request event
per delivered comment, on the FINAL text it shows: the ``comment`` frame when it is not pending,
else the ``translation`` frame that completes it. ``request_type`` is ``deliver`` (``host`` for
the host), ``name`` the pair: ``"pt->en"`` for a translated delivery, ``"en->en
(untranslated)"`` for one delivered as written (same language, no route, language
undetermined), ``"en->pt (timeout)"`` for one whose translation failed (the reason); response
time = arrival time - send time in ms. The arrival time is the kernel's receive timestamp of
the socket read that brought the frame (``SO_TIMESTAMPNS``, Linux), not the moment this
process got round to parsing it: one locust process reads ~20,000 frames a second at 1,000
viewers, and its own backlog (the 1,000th viewer's copy of a comment is parsed tens of ms after
the first) would otherwise be counted as gateway latency. That backlog is recorded separately
as "client lag" (parse time - arrival time) and reported next to the latency; where the
kernel gives no timestamp, the time the read returned stands in for it. So locust's own statistics,
charts and CSV/HTML reports show end-to-end latency per language pair. ``comment``/``ack``
events time send -> ack; ``connect`` events time the handshake (failures are locust failures).

Loss: message ids in a room increase by one per published comment. Each receiver remembers the
last id in its ``welcome`` history and counts the distinct live ids it receives; senders stop
``--bc-drain`` seconds before the end, and at the end every locust process writes, under
``--bc-out``, each receiver's counts plus the raw latency samples (for the report's plots).
A receiver should have every id after its welcome up to the room's last one; the difference is
the loss (``benchmarks/e2e.py`` adds it up).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import random
import secrets
import socket
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gevent

try:  # several times faster than json.loads; the receivers parse every frame they show
    from orjson import loads
except ImportError:  # pragma: no cover - orjson comes with the bench extras
    from json import loads
import gevent.event
from locust import User, events, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _wsload import (
    HOST_KEY_ENV,
    JWT_SECRET_ENV,
    SO_TIMESTAMPNS,
    TIMESTAMP_CMSG,
    FrameReader,
    arrival_ns,
    client_frame,
    handshake,
    room_path,
)

DATA = Path(__file__).resolve().parent / "data" / "langid_chat_dev.tsv"
MARK = " #t"  # a measured comment ends with " #t<19-20 digits of time.time_ns()>"
REACTIONS = ("quero!", "🔥🔥🔥", "❤️", "lindo", "wow", "amei", "link?", "👏👏")
FALLBACK_LINES = {"en": ["how much is it?", "does it ship to Canada?", "love this color"],
                  "pt": ["quanto custa?", "tem frete grátis?", "amei essa cor"]}


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("babelcast")
    group.add_argument("--bc-room", default="bench", help="room to join (bench)")
    group.add_argument("--bc-rate", type=float, default=5.0,
                       help="comments per second, all viewers together (5)")
    group.add_argument("--bc-langs", default="en:45,pt:35,es:10,fr:10",
                       help="languages viewers read and write, with weights "
                            "(en:45,pt:35,es:10,fr:10)")
    group.add_argument("--bc-reaction-share", type=float, default=0.2,
                       help="share of comments that are short repeated reactions (0.2)")
    group.add_argument("--bc-burst-every", type=float, default=20.0,
                       help="seconds between bursts; 0 = no bursts (20)")
    group.add_argument("--bc-burst-fraction", type=float, default=0.1,
                       help="share of viewers that comment in a burst (0.1)")
    group.add_argument("--bc-drain", type=float, default=3.0,
                       help="stop commenting this many seconds before --run-time ends (3)")
    group.add_argument("--bc-host-key", default=os.environ.get(HOST_KEY_ENV, ""),
                       help=f"the server's --host-key (default: ${HOST_KEY_ENV}): the host "
                            "connection reads as the host; without it, as a plain viewer")
    group.add_argument("--bc-jwt-secret", default=os.environ.get(JWT_SECRET_ENV, ""),
                       help=f"the server's --jwt-secret, for a gateway run with --auth jwt "
                            f"(default: ${JWT_SECRET_ENV}): every user signs its own room "
                            "token")
    group.add_argument("--bc-host-lang", default="en", help="the host's language (en)")
    group.add_argument("--bc-t0", type=float, default=0.0,
                       help="wall-clock start of the test (bursts are scheduled from it); "
                            "0 = when this process starts")
    group.add_argument("--bc-send-for", type=float, default=0.0,
                       help="seconds after --bc-t0 during which viewers comment; 0 = "
                            "--run-time minus --bc-drain (worker processes of --processes do "
                            "not see --run-time, so bench e2e passes this)")
    group.add_argument("--bc-out", default="", help="folder for per-process raw results")


def parse_langs(spec: str) -> tuple[list[str], list[float]]:
    """``"en:45,pt:35"`` -> (["en", "pt"], [45.0, 35.0]); a bare code weighs 1."""
    langs, weights = [], []
    for part in spec.split(","):
        code, _, weight = part.strip().partition(":")
        if code:
            langs.append(code)
            weights.append(float(weight) if weight else 1.0)
    if not langs:
        raise ValueError(f"--bc-langs {spec!r} names no language")
    return langs, weights


def chat_lines(path: Path = DATA) -> dict[str, list[str]]:
    """Real chat comments by language, from the language-ID data set."""
    lines: dict[str, list[str]] = {k: list(v) for k, v in FALLBACK_LINES.items()}
    with contextlib.suppress(OSError), path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            text = (row.get("text") or "").strip()
            if text and "\t" not in text and len(text) < 300:
                lines.setdefault(row["lang"], []).append(text)
    return lines


def sent_ns(original: str) -> int | None:
    """The send time embedded in a measured comment, or None."""
    i = original.rfind(MARK)
    if i < 0:
        return None
    digits = original[i + len(MARK):]
    return int(digits) if digits.isdigit() else None


# Reasons a comment is shown as written by design; any other reason is a failed translation.
AS_WRITTEN = (None, "no_route", "undetermined")


def pair_name(src: str, tgt: str, translated: bool, reason: str | None) -> str:
    """The locust ``name`` of a delivery: ``pt->en`` translated, ``en->en (untranslated)``
    shown as written by design (same language, no route, no language), ``en->pt (timeout)``
    when the translation failed (timeout, overloaded, engine_error, no_translator)."""
    if translated:
        return f"{src}->{tgt}"
    if src == tgt or reason in AS_WRITTEN:
        return f"{src}->{tgt} (untranslated)"
    return f"{src}->{tgt} ({reason})"


@dataclass
class ReceiverCounts:
    """What one connection received, for the loss count."""

    user: str
    lang: str
    after_id: int = 0  # last id in the welcome history: every later id is expected
    received: int = 0  # distinct live comment ids received
    last_id: int = 0
    closed: str = ""  # why the connection ended early, if it did


@dataclass
class ProcessRecorder:
    """Everything this locust process measured; written as files when it quits."""

    receivers: list[ReceiverCounts] = field(default_factory=list)
    pairs: dict[str, int] = field(default_factory=dict)
    recv_s: array = field(default_factory=lambda: array("d"))  # wall-clock receive time
    latency_ms: array = field(default_factory=lambda: array("f"))
    lag_ms: array = field(default_factory=lambda: array("f"))  # parsed - arrived, this process
    pair_ix: array = field(default_factory=lambda: array("H"))
    host: array = field(default_factory=lambda: array("b"))
    sent: int = 0
    acked: int = 0
    max_ack_id: int = 0
    send_errors: dict[str, int] = field(default_factory=dict)

    def sample(self, now_s: float, ms: float, pair: str, host: bool, lag_ms: float) -> None:
        ix = self.pairs.get(pair)
        if ix is None:
            ix = self.pairs[pair] = len(self.pairs)
        self.recv_s.append(now_s)
        self.latency_ms.append(ms)
        self.lag_ms.append(lag_ms)
        self.pair_ix.append(ix)
        self.host.append(1 if host else 0)

    def write(self, folder: str) -> None:
        """``<folder>/proc-<pid>.json`` (counts) and ``.bin`` files (samples)."""
        if not folder:
            return
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        stem = out / f"proc-{os.getpid()}"
        for name in ("recv_s", "latency_ms", "lag_ms", "pair_ix", "host"):
            with open(f"{stem}.{name}.bin", "wb") as f:
                getattr(self, name).tofile(f)
        doc = {"pairs": self.pairs, "samples": len(self.latency_ms), "sent": self.sent,
               "acked": self.acked, "max_ack_id": self.max_ack_id,
               "send_errors": self.send_errors,
               "receivers": [vars(r) for r in self.receivers]}
        Path(f"{stem}.json").write_text(json.dumps(doc))


RECORDER = ProcessRecorder()  # one per locust process; written when the process quits
LINES = chat_lines()


@events.quitting.add_listener
def _write_results(environment: Environment, **_kw: Any) -> None:
    RECORDER.write(environment.parsed_options.bc_out if environment.parsed_options else "")


# Frames a receiver parses; everything else (presence, pong, ...) is skipped unparsed.
PARSED = (b'{"type":"comment"', b'{"type":"translation"', b'{"type":"ack"',
          b'{"type":"error"', b'{"type":"welcome"')


class BabelcastUser(User):
    """One WebSocket connection to a room; a greenlet reads every frame it receives.

    The connection is a plain socket (cooperative under locust's gevent patching) with the
    stdlib-only handshake and frame code of ``_wsload.py``: a library client costs several times
    more CPU per frame, and one locust process must read tens of thousands of frames a second.
    Only the frames that matter are parsed as JSON."""

    abstract = True
    role = "viewer"

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        opts = environment.parsed_options
        self.opts = opts
        self.sock: socket.socket | None = None
        self.reader: gevent.Greenlet | None = None
        self.lang = "en"
        self.name = f"{self.role}-{secrets.token_hex(3)}"
        self.counts: ReceiverCounts | None = None
        self.pending: dict[int, tuple[int, str]] = {}  # id -> (send ns, src) of pending ones
        self.acks: dict[str, int] = {}  # client_id -> send ns
        self.stopping = False  # set by on_stop: the close that follows is ours, not loss
        self.welcomed = gevent.event.Event()

    def path(self) -> str:
        opts = self.opts
        if not opts:
            return room_path("bench", self.lang, self.name, self.role)
        return room_path(opts.bc_room, self.lang, self.name, self.role,
                         host_key=opts.bc_host_key, jwt_secret=opts.bc_jwt_secret)

    def on_start(self) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.host or "http://127.0.0.1:8000")
        try:
            self.sock, rest = handshake(parts.hostname or "127.0.0.1", parts.port or 80,
                                        self.path(), timeout=60)
            self.sock.settimeout(None)  # a quiet room sends nothing for minutes
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.counts = ReceiverCounts(self.name, self.lang)
            self.reader = gevent.spawn(self._read_loop, rest)
            if not self.welcomed.wait(60):
                raise RuntimeError("no welcome within 60 s")
        except Exception as exc:
            self.environment.events.request.fire(
                request_type="connect", name=self.role, response_time=_ms_since(started),
                response_length=0, exception=exc, context={})
            raise
        self.environment.events.request.fire(
            request_type="connect", name=self.role, response_time=_ms_since(started),
            response_length=0, exception=None, context={})
        RECORDER.receivers.append(self.counts)

    def on_stop(self) -> None:
        self.stopping = True
        if self.reader is not None:
            self.reader.kill(block=False)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def _read_loop(self, rest: bytes) -> None:
        assert self.sock is not None and self.counts is not None
        sock, frames = self.sock, FrameReader()
        data, arrived = rest, time.time_ns()
        while True:
            if data:
                for op, payload in frames.feed(data):
                    if op == 1:
                        if payload.startswith(PARSED):
                            self._on_frame(payload, arrived)
                    elif op == 9:  # ping
                        sock.sendall(client_frame(payload, 0xA))
                    elif op == 8:
                        self._closed("closed by the server")
                        return
            try:
                data, ancdata, _flags, _addr = sock.recvmsg(262_144, TIMESTAMP_CMSG)
                arrived = arrival_ns(ancdata)
            except OSError as exc:  # closed by the server, or by on_stop
                self._closed(type(exc).__name__)
                return
            if not data:
                self._closed("closed by the server")
                return

    def _closed(self, why: str) -> None:
        if not self.stopping and self.counts is not None:
            self.counts.closed = self.counts.closed or why

    def _on_frame(self, data: bytes, arrived_ns: int) -> None:
        now_ns = arrived_ns
        counts = self.counts
        assert counts is not None
        frame = loads(data)
        kind = frame["type"]
        if kind == "comment":
            mid = int(frame["id"])
            # Ids can arrive out of order (a comment held for its translation comes after
            # later ones that needed none): count each, remember the highest.
            if mid > counts.after_id and mid != counts.last_id:
                counts.received += 1
                counts.last_id = max(counts.last_id, mid)
            sent = sent_ns(frame["original"])
            if sent is None:
                return
            if frame.get("pending"):
                self.pending[mid] = (sent, frame["src_lang"])
                return
            pair = pair_name(frame["src_lang"], frame["lang"], frame["translated"],
                             frame.get("reason"))
        elif kind == "translation":
            got = self.pending.pop(int(frame["id"]), None)
            if got is None:
                return
            sent, src = got
            pair = pair_name(src, frame["lang"], frame["translated"], frame.get("reason"))
        elif kind == "ack":
            sent_at = self.acks.pop(frame.get("client_id") or "", None)
            RECORDER.acked += 1
            RECORDER.max_ack_id = max(RECORDER.max_ack_id, int(frame.get("id") or 0))
            if sent_at is not None:
                self.environment.events.request.fire(
                    request_type="comment", name="ack", response_time=(now_ns - sent_at) / 1e6,
                    response_length=len(data), exception=None, context={})
            return
        elif kind == "error":
            code = frame.get("code", "error")
            RECORDER.send_errors[code] = RECORDER.send_errors.get(code, 0) + 1
            self.acks.pop(frame.get("client_id") or "", None)
            self.environment.events.request.fire(
                request_type="comment", name="ack", response_time=0, response_length=len(data),
                exception=RuntimeError(code), context={})
            return
        elif kind == "welcome":
            history = frame.get("history") or [{"id": "0"}]
            counts.after_id = counts.last_id = int(history[-1]["id"])
            self.welcomed.set()
            return
        else:
            return
        ms = (now_ns - sent) / 1e6
        host = self.role == "host"
        RECORDER.sample(now_ns / 1e9, ms, pair, host, max(0.0, (time.time_ns() - now_ns) / 1e6))
        self.environment.events.request.fire(
            request_type="host" if host else "deliver", name=pair, response_time=ms,
            response_length=len(data), exception=None, context={})

    def send_comment(self, text: str, measured: bool = True) -> None:
        """Send one comment (with its send time when ``measured``)."""
        if self.sock is None or self.stopping:
            return
        cid = f"c{next(_client_ids)}"
        now = time.time_ns()
        if measured:
            text = f"{text}{MARK}{now}"
        self.acks[cid] = now
        payload = json.dumps({"type": "comment", "text": text, "client_id": cid})
        try:
            self.sock.sendall(client_frame(payload.encode()))
        except OSError as exc:
            self.acks.pop(cid, None)
            self.environment.events.request.fire(
                request_type="comment", name="ack", response_time=0, response_length=0,
                exception=exc, context={})
            return
        RECORDER.sent += 1


_client_ids = itertools.count(1)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class Viewer(BabelcastUser):
    """Reads the room in one language; comments now and then, and in bursts."""

    weight = 100

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        opts = self.opts
        langs, weights = parse_langs(opts.bc_langs)
        self.lang = random.choices(langs, weights)[0]
        viewers = max(1, (opts.num_users or 1) - 1)  # the host (fixed_count 1) never comments
        # Each viewer's mean gap between comments, so that all of them send --bc-rate.
        self.mean_gap_s = viewers / opts.bc_rate if opts.bc_rate > 0 else float("inf")
        t0 = opts.bc_t0 or _PROCESS_T0
        run_time = opts.run_time or 0
        if opts.bc_send_for > 0:
            self.send_until = t0 + opts.bc_send_for
        else:
            self.send_until = t0 + run_time - opts.bc_drain if run_time else float("inf")
        self.burst_t0 = t0
        now = time.time()
        self.next_regular = now + random.expovariate(1 / self.mean_gap_s) \
            if self.mean_gap_s != float("inf") else float("inf")
        self.next_burst = self._burst_after(now)

    def _burst_after(self, now: float) -> float:
        """When this viewer comments in the next burst it takes part in (inf: none)."""
        every, share = self.opts.bc_burst_every, self.opts.bc_burst_fraction
        if every <= 0 or share <= 0:
            return float("inf")
        k = int((now - self.burst_t0) // every) + 1
        for _ in range(10_000):
            at = self.burst_t0 + k * every
            if random.random() < share:
                return at + random.random()  # within one second of the burst
            k += 1
        return float("inf")

    def wait_time(self) -> float:
        nxt = min(self.next_regular, self.next_burst)
        if nxt >= self.send_until:
            return max(0.5, self.send_until - time.time() + 60)  # reading only from now on
        return max(0.0, nxt - time.time())

    @task
    def comment(self) -> None:
        now = time.time()
        if now >= self.send_until:
            return
        if now >= self.next_burst:
            self.next_burst = self._burst_after(now)
            self.send_comment(random.choice(_burst_lines(self.lang)))
        elif now >= self.next_regular:
            self.next_regular += random.expovariate(1 / self.mean_gap_s)
            if random.random() < self.opts.bc_reaction_share:
                self.send_comment(random.choice(REACTIONS), measured=False)
            else:
                self.send_comment(random.choice(LINES.get(self.lang) or LINES["en"]))


def _burst_lines(lang: str) -> list[str]:
    """What viewers write when the host reveals a product or starts a flash sale."""
    return {"pt": ["quero!!", "quanto custa?", "manda o link", "tem frete grátis?"],
            "en": ["I want it!", "how much?", "send the link", "is shipping free?"],
            "es": ["lo quiero!", "cuánto cuesta?", "manda el link"],
            "fr": ["je le veux !", "combien ?", "le lien svp"]}.get(lang) or \
        LINES.get(lang) or LINES["en"]


class Host(BabelcastUser):
    """The host: one connection (``role=host``) that reads every question in its language."""

    role = "host"
    fixed_count = 1

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.lang = self.opts.bc_host_lang

    def on_start(self) -> None:
        if not self.opts.bc_host_key and not self.opts.bc_jwt_secret:
            self.role = "viewer"  # no way to prove the host role: read as a plain viewer
        super().on_start()

    def wait_time(self) -> float:
        return 60.0

    @task
    def read(self) -> None:
        """Reading happens on the reader greenlet; the host never comments."""


_PROCESS_T0 = time.time()
