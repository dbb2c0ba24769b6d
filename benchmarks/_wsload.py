"""A deliberately cheap WebSocket load client for ``benchmarks/fanout.py``.

Standard library only, no asyncio: blocking handshakes, then one ``select.epoll`` loop that
serves every viewer socket and the sender socket. Per received chunk it does one ``recv``, one
``time.monotonic_ns()`` and a hand-written RFC 6455 header walk; a comment frame is recognised
with ``bytes.startswith`` and its send timestamp is read from a fixed-width field found with
``bytes.find`` -- no JSON parsing, no per-frame objects. Client frames are masked with the
all-zero key, so the payload never has to be XORed.

The same client drives the baseline server and babelcast, so whatever it costs per frame is
the same in every scenario.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import select
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
COMMENT_PREFIX = b'{"type":"comment"'
WELCOME_PREFIX = b'{"type":"welcome"'
ACK_PREFIX = b'{"type":"ack"'
TS_DIGITS = 20  # send timestamps are written as 20 zero-padded digits of monotonic_ns
RECV_SIZE = 262_144
MAX_EVENTS = 256  # sockets served per epoll round; the sender is checked once per round


# Secrets reach locust through the environment (bench e2e sets them), not argv that `ps` shows.
HOST_KEY_ENV = "BABELCAST_BENCH_HOST_KEY"
JWT_SECRET_ENV = "BABELCAST_BENCH_JWT_SECRET"


def room_path(room: str, lang: str, name: str, role: str = "viewer", *, host_key: str = "",
              jwt_secret: str = "", token_ttl_s: int = 6 * 3600) -> str:
    """The WebSocket path a bench user connects to. With ``jwt_secret`` (a gateway on
    ``--auth jwt``) the user signs its own room token and the role travels in it, as a platform
    would issue it; otherwise a host proves itself with ``host_key``."""
    path = f"/v1/rooms/{quote(room)}/ws?lang={lang}&name={name}"
    if jwt_secret:
        from babelcast.gateway.web.auth import RoomTokens

        token = RoomTokens(jwt_secret).issue(room, name, name, role, token_ttl_s).token
        return f"{path}&token={token}"
    if role == "host":
        return f"{path}&role=host&host_key={quote(host_key)}"
    return path


class HandshakeError(RuntimeError):
    """The server did not answer the upgrade with a valid ``101``."""


def handshake(host: str, port: int, path: str, *, rcvbuf: int | None = None,
              timeout: float = 15.0) -> tuple[socket.socket, bytes]:
    """Open a WebSocket connection with a blocking socket. Returns the socket and any bytes
    that arrived after the ``101`` response (the start of the first frames).

    ``rcvbuf`` sets ``SO_RCVBUF`` before connecting, which bounds the TCP window the peer
    may fill (Linux rounds tiny values up to about 2 KiB)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(timeout)
        sock.connect((host, port))
        key = base64.b64encode(os.urandom(16))
        sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\n"
            b"Host: " + f"{host}:{port}".encode() + b"\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise HandshakeError(f"connection closed during handshake: {buf[:200]!r}")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if status.split(b" ")[1:2] != [b"101"]:
            body = rest[:300].decode(errors="replace")  # the server's reason, if it gave one
            raise HandshakeError(f"upgrade refused: {status.decode(errors='replace')}"
                                 + (f": {body}" if body else ""))
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        if accept not in head:
            raise HandshakeError("bad Sec-WebSocket-Accept")
        return sock, rest
    except BaseException:
        sock.close()
        raise


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A final client frame, masked with the all-zero key (so the payload is sent as is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


# The kernel's receive timestamp of each socket read (Linux; Python names no constant for it).
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESTAMP_CMSG = socket.CMSG_SPACE(16)  # struct timespec


def arrival_ns(ancdata: list[tuple[int, int, bytes]]) -> int:
    """The receive timestamp in ``recvmsg``'s ancillary data, else now. For TCP it is the
    timestamp of the last segment read, so frames that waited in the socket are never counted
    as arriving earlier than they did."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec * 1_000_000_000 + nsec
    return time.time_ns()


class FrameReader:
    """Splits received bytes into WebSocket frames (server frames are never masked)."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """(opcode, payload) of every complete frame in what has arrived so far."""
        data = self.buf + data if self.buf else data
        n, pos = len(data), 0
        while n - pos >= 2:
            ln = data[pos + 1] & 0x7F
            start = pos + 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln, start = int.from_bytes(data[pos + 2:pos + 4], "big"), pos + 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln, start = int.from_bytes(data[pos + 2:pos + 10], "big"), pos + 10
            end = start + ln
            if end > n:
                break
            yield data[pos] & 0x0F, data[start:end]
            pos = end
        self.buf = data[pos:]


def comment_text(tag: str, seq: int, pad: str = "") -> tuple[str, int]:
    """The text of benchmark comment ``seq`` and the send timestamp embedded in it:
    ``"<tag> <20-digit monotonic_ns> <seq>[ <pad>]"``."""
    ts = time.monotonic_ns()
    text = f"{tag} {ts:0{TS_DIGITS}d} {seq}"
    return (f"{text} {pad}" if pad else text), ts


@dataclass
class PhaseResult:
    """What one send phase measured (fast viewers only)."""

    tag: str
    comments: int
    sent: int = 0
    acks: int = 0
    viewers: int = 0
    expected: int = 0
    delivered: int = 0
    complete_viewers: int = 0
    first_send_ns: int = 0
    last_send_ns: int = 0
    last_recv_ns: int = 0
    timed_out: bool = False
    client_cpu_s: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        end = self.last_recv_ns or self.last_send_ns
        return max(end - self.first_send_ns, 1) / 1e9

    @property
    def deliveries_per_s(self) -> float:
        return self.delivered / self.wall_s


class LoadClient:
    """Viewers, stalled viewers and one sender, all in one room, served by one epoll loop."""

    def __init__(self, host: str, port: int, room: str = "bench", lang: str = "en") -> None:
        self.host, self.port, self.room, self.lang = host, port, room, lang
        self.ep = select.epoll()
        self.socks: dict[int, socket.socket] = {}  # fd -> fast viewer socket
        self.recv: dict[int, Callable[[int], bytes]] = {}
        self.pend: dict[int, bytes] = {}  # fd -> bytes of an incomplete frame
        self.got: dict[int, int] = {}  # fd -> comments of the current phase received
        self.welcomed: set[int] = set()
        self.stalled: list[socket.socket] = []  # never read after the handshake
        self.sender: socket.socket | None = None
        self.sender_fd = -1
        self.sender_pend = b""
        self.acks = 0
        self.closed_viewers = 0
        self._phase: PhaseResult | None = None
        self._mark = b""
        self._target = 0

    def _path(self, name: str) -> str:
        return f"/v1/rooms/{self.room}/ws?lang={self.lang}&name={name}"

    # -- connecting ---------------------------------------------------------------------
    def add_viewer(self, name: str) -> None:
        sock, rest = handshake(self.host, self.port, self._path(name))
        sock.setblocking(False)
        fd = sock.fileno()
        self.socks[fd] = sock
        self.recv[fd] = sock.recv
        self.pend[fd] = b""
        self.got[fd] = 0
        self.ep.register(fd, select.EPOLLIN)
        if rest:
            self._on_viewer_data(fd, rest, time.monotonic_ns())

    def add_stalled(self, name: str, rcvbuf: int = 1) -> None:
        """A viewer that completes the handshake and then never reads again."""
        sock, _ = handshake(self.host, self.port, self._path(name), rcvbuf=rcvbuf)
        self.stalled.append(sock)

    def add_sender(self, name: str = "sender") -> None:
        sock, rest = handshake(self.host, self.port, self._path(name))
        sock.setblocking(False)
        self.sender = sock
        self.sender_fd = sock.fileno()
        self.ep.register(self.sender_fd, select.EPOLLIN)
        if rest:
            self._on_sender_data(rest)

    def fill_stalled(self, server_port: int, *, per_round: int = 4, pause: float = 0.1,
                     stable_rounds: int = 3, max_rounds: int = 400) -> dict[str, int]:
        """Make the stalled viewers' server-side writes block for real.

        Loopback TCP lets the server's kernel buffer megabytes for a socket whose peer
        does not read (the send buffer auto-tunes up to ``tcp_wmem[2]``), far more than a
        benchmark's worth of comments. So each stalled socket asks for ``set_lang`` (its
        own language again), whose ``lang_changed`` reply carries the room history (tens
        of KiB after padded warm-up comments) to that socket alone, until the kernel send
        queue of every stalled socket has stopped growing for ``stable_rounds`` rounds;
        each of those rounds adds more than asyncio's 64 KiB high-water mark to the
        server's transport buffer, so its writer is then paused on that socket."""
        frame = client_frame(b'{"type":"set_lang","lang":"' + self.lang.encode()
                             + b'","client_id":"fill"}') * per_round
        ports = self.stalled_ports()
        prev: list[int] | None = None
        stable = rounds = 0
        while rounds < max_rounds and stable < stable_rounds:
            for sock in self.stalled:
                sock.sendall(frame)
            rounds += 1
            self.pump(pause)
            q = tcp_queues(server_port)
            now = [q.get((server_port, p), (0, 0))[0] for p in ports]
            stable = stable + 1 if prev is not None and now == prev else 0
            prev = now
        return {"rounds": rounds, "set_lang_per_socket": rounds * per_round,
                "server_send_queue_bytes_min": min(prev or [0]),
                "server_send_queue_bytes_max": max(prev or [0])}

    @property
    def viewers(self) -> int:
        return len(self.socks)

    def stalled_ports(self) -> list[int]:
        return [s.getsockname()[1] for s in self.stalled]

    # -- frame handling (the hot path) --------------------------------------------------
    def _on_viewer_data(self, fd: int, data: bytes, now: int) -> None:
        left = self.pend[fd]
        if left:
            data = left + data
        n = len(data)
        pos = 0
        hits = 0
        mark = self._mark
        skip = len(mark)
        lat = None
        while n - pos >= 2:
            ln = data[pos + 1] & 0x7F
            if ln < 126:
                start = pos + 2
            elif ln == 126:
                if n - pos < 4:
                    break
                ln = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                ln = int.from_bytes(data[pos + 2:pos + 10], "big")
                start = pos + 10
            end = start + ln
            if end > n:
                break
            op = data[pos] & 0x0F
            if op == 1:
                if data.startswith(COMMENT_PREFIX, start):
                    if mark:
                        i = data.find(mark, start, end)
                        if i >= 0:
                            i += skip
                            if lat is None:
                                lat = self._phase.latencies_ns  # type: ignore[union-attr]
                            lat.append(now - int(data[i:i + TS_DIGITS]))
                            hits += 1
                elif data.startswith(WELCOME_PREFIX, start):
                    self.welcomed.add(fd)
            elif op == 9:  # ping: answer at once
                self.socks[fd].send(client_frame(data[start:end], 0xA))
            elif op == 8:  # close
                self._drop(fd)
                return
            pos = end
        self.pend[fd] = data[pos:] if pos < n else b""
        if hits:
            ph = self._phase
            assert ph is not None
            ph.delivered += hits
            ph.last_recv_ns = now
            c = self.got[fd]
            self.got[fd] = c + hits
            if c < self._target <= c + hits:
                ph.complete_viewers += 1

    def _on_sender_data(self, data: bytes) -> None:
        data = self.sender_pend + data if self.sender_pend else data
        n = len(data)
        pos = 0
        while n - pos >= 2:
            ln = data[pos + 1] & 0x7F
            if ln < 126:
                start = pos + 2
            elif ln == 126:
                if n - pos < 4:
                    break
                ln = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                ln = int.from_bytes(data[pos + 2:pos + 10], "big")
                start = pos + 10
            end = start + ln
            if end > n:
                break
            op = data[pos] & 0x0F
            if op == 1 and data.startswith(ACK_PREFIX, start):
                self.acks += 1
            elif op == 9:
                self._send_raw(client_frame(data[start:end], 0xA))
            elif op == 8:
                raise RuntimeError("the server closed the sender connection")
            pos = end
        self.sender_pend = data[pos:] if pos < n else b""

    def _drop(self, fd: int) -> None:
        sock = self.socks.pop(fd, None)
        if sock is None:
            return
        self.ep.unregister(fd)
        sock.close()
        self.closed_viewers += 1

    def _send_raw(self, frame: bytes) -> None:
        assert self.sender is not None
        view = memoryview(frame)
        while view:
            try:
                sent = self.sender.send(view)
            except BlockingIOError:
                select.select([], [self.sender], [], 1.0)
                continue
            view = view[sent:]

    def _read_sender(self) -> None:
        try:
            data = self.sender.recv(RECV_SIZE)  # type: ignore[union-attr]
        except BlockingIOError:
            return
        if not data:
            raise RuntimeError("the server closed the sender connection")
        self._on_sender_data(data)

    def _poll_once(self, timeout: float) -> None:
        """One epoll round of at most ``MAX_EVENTS`` sockets. The sender is read first, so
        acks are seen promptly even when thousands of viewer frames are waiting."""
        sender_fd = self.sender_fd
        recv = self.recv
        on_viewer = self._on_viewer_data
        mono = time.monotonic_ns
        if self.sender is not None:
            self._read_sender()
        for fd, _ev in self.ep.poll(timeout, MAX_EVENTS):
            if fd == sender_fd:
                self._read_sender()
                continue
            try:
                data = recv[fd](RECV_SIZE)
            except BlockingIOError:
                continue
            except OSError:
                self._drop(fd)
                continue
            if not data:
                self._drop(fd)
                continue
            on_viewer(fd, data, mono())

    # -- driving ------------------------------------------------------------------------
    def pump(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """Read everything that arrives for ``seconds`` (or until ``until()``); returns
        whether ``until`` became true."""
        deadline = time.monotonic() + seconds
        while True:
            if until is not None and until():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._poll_once(min(left, 0.05))

    def wait_welcomed(self, timeout: float) -> bool:
        return self.pump(timeout, lambda: len(self.welcomed) >= len(self.socks))

    def run_phase(self, tag: str, comments: int, *, rate: float = 0.0, window: int = 1,
                  pad: str = "", timeout: float = 120.0,
                  on_send: Callable[[], None] | None = None) -> PhaseResult:
        """Send ``comments`` comments tagged ``tag`` and wait until every fast viewer has
        received all of them (or ``timeout``).

        ``rate`` 0: closed loop, a comment goes out whenever fewer than ``window`` sent
        comments are unacked. ``rate`` > 0: open loop, comment i goes out at
        ``start + i / rate`` whatever the acks."""
        ph = PhaseResult(tag=tag, comments=comments, viewers=len(self.socks))
        ph.expected = comments * len(self.socks)
        for fd in self.got:
            self.got[fd] = 0
        self._phase = ph
        self._mark = b'":"' + tag.encode() + b" "
        self._target = comments
        acks0 = self.acks
        cpu0 = time.process_time()
        t0 = time.monotonic()
        deadline = t0 + timeout
        period = 1.0 / rate if rate > 0 else 0.0
        try:
            while True:
                now = time.monotonic()
                if ph.sent < comments:
                    due = ph.sent < comments and (
                        (rate <= 0 and ph.sent - (self.acks - acks0) < window)
                        or (rate > 0 and now >= t0 + ph.sent * period))
                    if due:
                        text, ts = comment_text(tag, ph.sent + 1, pad)
                        payload = ('{"type":"comment","text":"' + text + '","client_id":"c'
                                   + str(ph.sent + 1) + '"}').encode()
                        frame = client_frame(payload)
                        if not ph.first_send_ns:
                            ph.first_send_ns = ts
                        self._send_raw(frame)
                        ph.last_send_ns = ts
                        ph.sent += 1
                        if on_send is not None:
                            on_send()
                        continue
                elif ph.complete_viewers >= len(self.socks) or not self.socks:
                    break
                if now > deadline:
                    ph.timed_out = True
                    break
                if ph.sent < comments and rate > 0:
                    wait = max(0.0, t0 + ph.sent * period - now)
                else:
                    wait = 0.05
                self._poll_once(min(wait, 0.05))
        finally:
            ph.acks = self.acks - acks0
            ph.client_cpu_s = time.process_time() - cpu0
            ph.viewers = len(self.socks)
            self._phase = None
            self._mark = b""
        return ph

    def close(self) -> None:
        for sock in [*self.socks.values(), *self.stalled,
                     *([self.sender] if self.sender else [])]:
            with contextlib.suppress(OSError):
                sock.close()
        self.socks.clear()
        self.stalled.clear()
        self.sender = None
        self.ep.close()


def tcp_queues(port: int) -> dict[tuple[int, int], tuple[int, int]]:
    """IPv4 TCP sockets on loopback touching ``port``, from ``/proc/net/tcp``:
    ``{(local_port, remote_port): (tx_queue, rx_queue)}`` in bytes."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                lp = int(parts[1].rsplit(":", 1)[1], 16)
                rp = int(parts[2].rsplit(":", 1)[1], 16)
                if port not in (lp, rp):
                    continue
                tx, rx = (int(x, 16) for x in parts[4].split(":"))
                out[(lp, rp)] = (tx, rx)
    except OSError:
        pass
    return out
