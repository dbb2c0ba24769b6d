"""``babelcast serve --workers N``: every core of one machine.

A small supervisor runs N gateway processes (``--role gateway``) that each bind the same port
with SO_REUSEPORT, so the kernel spreads connections between them, and one translator process
(``--role translator``) that holds the models once. They share rooms through Redis: the one of
``--redis-url``, or a private ``redis-server`` child on a unix socket, with no persistence,
stopped with the supervisor. A child that dies is started again after a short backoff; SIGINT
or SIGTERM stops them all.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from babelcast.gateway.preflight import redis_problem
from babelcast.gateway.settings import ENV_PREFIX, Settings

log = logging.getLogger("babelcast.workers")

INSTALL_REDIS = ("--workers > 1 shares rooms through Redis, and redis-server is not installed: "
                 "install it (apt-get install redis-server) or pass --redis-url")
# A child that dies this soon after its start waits twice as long as the last time before
# it is started again (up to MAX_BACKOFF_S); one that lived longer starts again at once...
QUICK_DEATH_S = 10.0
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 10.0
# ...and one that cannot stay up this many times in a row stops the supervisor (a setting
# that can never work, say, rather than a crash).
MAX_QUICK_DEATHS = 6
STOP_GRACE_S = 20.0


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with SO_REUSEPORT, for uvicorn's ``sockets``:
    every process that binds the port this way gets its share of new connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def port_problem(host: str, port: int) -> str | None:
    """Why the workers could not bind ``host:port`` (a process without SO_REUSEPORT holds
    it, or the address is not this machine's), or None. The probe is bound, never listening,
    so it takes no connection."""
    try:
        reuse_port_socket(host, port).close()
    except OSError as exc:
        return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def free_local_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 (the translator's health endpoint)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A ``redis-server`` child on a unix socket in a temporary folder, without persistence."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="babelcast-redis-")
        self.path = os.path.join(self.dir, "redis.sock")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self, timeout: float = 10.0) -> str | None:
        """Start it and wait until it answers; None, or why it did not start."""
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", self.path, "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # Out of the terminal's process group: a Ctrl-C must not stop Redis before the
            # workers that use it have shut down.
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while (problem := redis_problem(self.url)) is not None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return f"the private redis-server did not start: {problem}"
            time.sleep(0.05)
        return None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Child:
    """One supervised process: what to run and how it has fared."""

    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = field(default=None)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, env=self.env)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("%s started (pid %d)", self.name, self.proc.pid)

    def died(self, now: float) -> None:
        """Note an exit and schedule the next start."""
        assert self.proc is not None
        if now - self.started_at < QUICK_DEATH_S:
            self.quick_deaths += 1
            self.backoff_s = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, self.backoff_s * 2))
        else:
            self.quick_deaths, self.backoff_s = 0, FIRST_BACKOFF_S
        self.restart_at = now + self.backoff_s
        log.warning("%s (pid %d) exited with %s; starting it again in %.2f s", self.name,
                    self.proc.pid, self.proc.returncode, self.backoff_s)


def child_env(settings: Settings, base: dict[str, str]) -> dict[str, str]:
    """``base`` with every setting as its ``BABELCAST_*`` variable, so a child runs with
    exactly the supervisor's settings (secrets stay out of the command line)."""
    env = dict(base)
    for f in dataclasses.fields(settings):
        env[ENV_PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    return env


def plan_children(settings: Settings, redis_url: str, count: int,
                  base_env: dict[str, str]) -> list[Child]:
    """The translator (unless ``--engine none``: then the workers relay only, role ``all``)
    and ``count`` gateway workers sharing ``settings.port``."""
    serve = [sys.executable, "-m", "babelcast.gateway", "serve"]
    children = []
    worker_role = "gateway"
    if settings.engine != "none":
        translator = settings.replace(role="translator", workers="1", redis_url=redis_url,
                                      host="127.0.0.1", port=free_local_port())
        children.append(Child("translator", [*serve, "--role", "translator", "--port",
                                             str(translator.port)],
                              child_env(translator, base_env)))
    else:
        worker_role = "all"
    worker = settings.replace(role=worker_role, workers="1", redis_url=redis_url,
                              reuse_port="on")
    for n in range(1, count + 1):
        children.append(Child(f"worker {n}", [*serve, "--role", worker_role, "--port",
                                              str(settings.port)],
                              child_env(worker, base_env)))
    return children


def supervise(children: list[Child], stop: threading.Event,
              also_alive: Callable[[], bool] = lambda: True) -> int:
    """Start ``children``, start again those that die, until ``stop`` is set (0) or one
    cannot stay up or ``also_alive`` turns false (1); then stop them all."""
    for child in children:
        child.start()
    code = 0
    while not stop.wait(0.1):
        if not also_alive():
            log.error("the private redis-server exited; stopping")
            code = 1
            break
        now = time.monotonic()
        for child in children:
            assert child.proc is not None
            if child.restart_at is None and child.proc.poll() is not None:
                child.died(now)
                if child.quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("%s keeps exiting (%d times in a row); stopping", child.name,
                              child.quick_deaths)
                    code = 1
            if child.restart_at is not None and now >= child.restart_at:
                child.start()
        if code:
            break
    stop_all(children)
    return code


def stop_all(children: list[Child]) -> None:
    """SIGTERM to every child still running, then wait (SIGKILL after STOP_GRACE_S)."""
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_workers(settings: Settings) -> int:
    """``babelcast serve --workers N`` (N > 1): run until SIGINT/SIGTERM; the exit status.
    Problems found before anything starts are one line on stderr and status 2."""
    count = settings.worker_count
    problem = port_problem(settings.host, settings.port)
    if problem:
        print(f"babelcast: {problem}", file=sys.stderr)
        return 2
    redis: PrivateRedis | None = None
    redis_url = settings.redis_url
    if not redis_url:
        binary = shutil.which("redis-server")
        if binary is None:
            print(f"babelcast: {INSTALL_REDIS}", file=sys.stderr)
            return 2
        redis = PrivateRedis(binary)
        problem = redis.start()
        if problem:
            redis.stop()
            print(f"babelcast: {problem}", file=sys.stderr)
            return 2
        redis_url = redis.url
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        children = plan_children(settings, redis_url, count, dict(os.environ))
        log.info("%d gateway workers on http://%s:%d sharing rooms through %s", count,
                 settings.host, settings.port,
                 "a private redis-server" if redis is not None else "the --redis-url Redis")
        return supervise(children, stop, redis.alive if redis is not None else lambda: True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if redis is not None:
            redis.stop()
