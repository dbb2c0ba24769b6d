"""``babelcast serve --workers 2`` as an operator runs it: two gateway workers on one port
(SO_REUSEPORT), one translator and a private redis-server, all children of one supervisor."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.harness import ServeProcess, Viewer

PORT_TRIES = 60  # connections tried until two viewers land on different workers


@pytest.fixture
def supervisor() -> Iterator[ServeProcess]:
    proc = ServeProcess("--workers", "2", "--presence-ttl-s", "2")
    yield proc
    kids = psutil.Process(proc.proc.pid).children(recursive=True)
    assert any("redis-server" in " ".join(k.cmdline()) for k in kids)  # the private one
    out = proc.stop()
    assert proc.proc.returncode == 0, out
    # Every child (workers, translator, redis-server) went with the supervisor.
    assert not [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


def children(sup: ServeProcess, role: str) -> list[psutil.Process]:
    """The supervisor's children of ``role`` (gateway or translator), by their command line."""
    found = []
    for child in psutil.Process(sup.proc.pid).children():
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "--role" in cmdline and cmdline[cmdline.index("--role") + 1] == role:
            found.append(child)
    return found


def worker_of(sup: ServeProcess, viewer: Viewer) -> int:
    """The pid of the worker that accepted ``viewer``'s connection."""
    client_port = viewer.ws.socket.getsockname()[1]
    for worker in children(sup, "gateway"):
        for conn in worker.net_connections(kind="tcp"):
            if conn.raddr and conn.raddr.port == client_port and conn.laddr.port == sup.port:
                return worker.pid
    raise AssertionError("no worker holds the viewer's connection")


def wait_for_workers_with_translator(sup: ServeProcess, timeout: float = 30.0) -> set[int]:
    """Until /readyz has answered ready, seeing a translator, from two different workers
    (each new HTTP connection lands on either)."""
    ready: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(ready) < 2:
        assert time.monotonic() < deadline, f"workers never all ready: {ready}"
        with httpx.Client() as client:  # a new connection per request
            body = client.get(sup.http + "/readyz", timeout=5).json()
        if body.get("ready") and body["engines"]:
            ready.add(body["pid"])
        else:
            time.sleep(0.05)
    return ready


def viewers_on_two_workers(sup: ServeProcess, room: str) -> tuple[Viewer, Viewer]:
    en = sup.viewer(room, "en", "Bob")
    for _ in range(PORT_TRIES):
        pt = sup.viewer(room, "pt", "Ana")
        if worker_of(sup, pt) != worker_of(sup, en):
            return en, pt
        pt.ws.close()
    raise AssertionError("the kernel never put two connections on different workers")


def test_two_workers_share_a_room_translate_once_and_survive_a_killed_worker(
        supervisor: ServeProcess) -> None:
    sup = supervisor
    sup.wait_ready()
    assert len(children(sup, "gateway")) == 2 and len(children(sup, "translator")) == 1
    wait_for_workers_with_translator(sup)
    en, pt = viewers_on_two_workers(sup, "sale")

    pt.comment("tem frete grátis?")
    got = en.expect_final("tem frete grátis?")
    assert got["translated"] is True and "free shipping" in got["text"].lower()
    en.comment("I love this lipstick")
    got = pt.expect_final("I love this lipstick")
    assert got["translated"] is True and "batom" in got["text"].lower()
    # Two comments, two jobs: each translated once, by the one translator, for both workers.
    (translator,) = children(sup, "translator")
    port = translator.cmdline()[translator.cmdline().index("--port") + 1]
    stats = httpx.get(f"http://127.0.0.1:{port}/v1/stats", timeout=10).json()
    assert stats["translator_worker"]["jobs"] == 2

    # A crash of the Portuguese viewer's worker: the viewer comes back on whichever worker
    # the kernel picks and misses nothing.
    last_seen = [f for f in pt.frames if f["type"] == "comment"][-1]["id"]
    epoch = pt.welcome["epoch"]
    killed = worker_of(sup, pt)
    psutil.Process(killed).kill()
    en.comment("Is it waterproof?")
    en.expect_comment("Is it waterproof?")
    back = sup.viewer("sale", "pt", "Ana", since=last_seen, epoch=epoch)
    assert back.welcome["gap"] is False
    assert [f["original"] for f in back.welcome["history"]] == ["Is it waterproof?"]
    en.comment("Does it come in red?")
    assert back.expect_final("Does it come in red?")["translated"] is True

    # The supervisor started a new worker in the dead one's place.
    deadline = time.monotonic() + 20
    while True:
        pids = {p.pid for p in children(sup, "gateway")}
        if len(pids) == 2 and killed not in pids:
            break
        assert time.monotonic() < deadline, f"the killed worker was not replaced: {pids}"
        time.sleep(0.05)
    assert killed not in wait_for_workers_with_translator(sup)


def test_workers_without_redis_server_say_how_to_install_it(tmp_path) -> None:
    proc = ServeProcess("--workers", "2", env={"PATH": str(tmp_path)})  # no redis-server
    out = proc.wait_exit()
    assert proc.proc.returncode == 2
    assert out.strip().splitlines() == [
        "babelcast: --workers > 1 shares rooms through Redis, and redis-server is not "
        "installed: install it (apt-get install redis-server) or pass --redis-url"]
