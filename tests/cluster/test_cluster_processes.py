"""Several processes on one real Redis, started with the CLI as an operator would:
two gateway nodes (no models) and translator nodes (models only)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.harness import ServeProcess, free_port

FAST_CLAIM = ["--claim-timeout-ms", "1000", "--translator-heartbeat-ms", "200"]


@pytest.fixture
def processes() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for proc in started:
        proc.stop()


def start(processes: list[ServeProcess], *args: str) -> ServeProcess:
    proc = ServeProcess(*args)
    processes.append(proc)
    return proc


def start_cluster(processes: list[ServeProcess], redis_url: str
                  ) -> tuple[ServeProcess, ServeProcess, ServeProcess]:
    """A translator and two gateway nodes, ready, with both gateways seeing the translator."""
    translator = start(processes, "--role", "translator", "--redis-url", redis_url, *FAST_CLAIM)
    node_a = start(processes, "--role", "gateway", "--redis-url", redis_url)
    node_b = start(processes, "--role", "gateway", "--redis-url", redis_url)
    for proc in (translator, node_a, node_b):
        proc.wait_ready()
    wait_for_translators(node_a, node_b)
    return translator, node_a, node_b


def test_two_gateways_and_a_translator_chat_across_nodes(redis_url: str,
                                                          processes: list[ServeProcess]) -> None:
    translator, node_a, node_b = start_cluster(processes, redis_url)

    en = node_a.viewer("sale", "en", "Bob")
    pt = node_b.viewer("sale", "pt", "Ana")
    assert pt.welcome["presence"]["viewers"] == {"en": 1, "pt": 1}

    pt.comment("tem frete grátis?")
    got = en.expect_final("tem frete grátis?")
    assert got["translated"] is True and "free shipping" in got["text"].lower()

    en.comment("I love this lipstick")
    got = pt.expect_final("I love this lipstick")
    assert got["translated"] is True and "batom" in got["text"].lower()

    # The translator did the work; the gateways loaded no models.
    stats = translator_stats(translator)
    assert stats["translator_worker"]["jobs"] >= 2
    assert httpx_get(node_a, "/readyz")["role"] == "gateway"


def test_a_killed_translator_is_replaced_and_a_resume_works_on_the_other_node(
        redis_url: str, processes: list[ServeProcess]) -> None:
    first, node_a, node_b = start_cluster(processes, redis_url)
    en = node_a.viewer("live", "en", "Bob")
    pt = node_a.viewer("live", "pt", "Ana")
    en.comment("first comment")
    last_seen = pt.expect_comment("first comment")["id"]
    epoch = pt.welcome["epoch"]
    pt.close()

    old = live_translators(node_a)
    assert len(old) == 1
    first.kill()  # crash: no clean-up, its registration must expire
    second = start(processes, "--role", "translator", "--redis-url", redis_url, *FAST_CLAIM)
    second.wait_ready()
    # Both gateways have seen the crash (expired registration) and the replacement.
    deadline = time.monotonic() + 20
    for node in (node_a, node_b):
        while not ((names := live_translators(node)) and not names & old):
            assert time.monotonic() < deadline, "gateways never saw the new translator"
            time.sleep(0.05)
    en.comment("Is it waterproof?")
    en.expect_comment("Is it waterproof?")

    back = node_b.viewer("live", "pt", "Ana", since=last_seen, epoch=epoch)
    assert [f["original"] for f in back.welcome["history"]] == ["Is it waterproof?"]
    assert back.welcome["gap"] is False
    en.comment("I love this lipstick")
    got = back.expect_final("I love this lipstick")
    assert got["translated"] is True and "batom" in got["text"].lower()
    assert translator_stats(second)["translator_worker"]["jobs"] >= 1


def test_a_crashed_gateway_nodes_viewers_disappear_from_presence(
        redis_url: str, processes: list[ServeProcess]) -> None:
    # role all + Redis: nodes share rooms and each translates its own viewers' comments.
    args = ["--redis-url", redis_url, "--presence-ttl-s", "1", "--engine", "none"]
    node_a, node_b = start(processes, *args), start(processes, *args)
    node_a.wait_ready()
    node_b.wait_ready()
    ko = node_a.viewer("expiry", "ko", "Kim")
    pt = node_b.viewer("expiry", "pt", "Ana")
    assert pt.welcome["presence"]["viewers"] == {"ko": 1, "pt": 1}
    node_a.kill()  # no goodbye: only the expiry can remove its viewer
    ko.ws.close()
    deadline = time.monotonic() + 20
    while httpx_get(node_b, "/v1/rooms/expiry")["viewers"] != {"pt": 1}:
        assert time.monotonic() < deadline, "the dead node's viewers never expired"
        time.sleep(0.1)
    # A comment now costs no translation into the departed viewers' language.
    before = httpx_get(node_b, "/v1/stats")["translation"]["requests"]
    pt.comment("ainda tem?")
    assert pt.expect_comment("ainda tem?")["src_lang"] == "pt"
    assert httpx_get(node_b, "/v1/stats")["translation"]["requests"] == before


def test_roles_without_redis_fail_clearly() -> None:
    proc = ServeProcess("--role", "gateway")
    out = proc.wait_exit()
    assert proc.proc.returncode == 2 and "needs redis_url" in out

    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    proc = ServeProcess("--role", "gateway", "--redis-url", nobody)
    out = proc.wait_exit()
    assert proc.proc.returncode != 0
    assert "cannot reach Redis at" in out and "Traceback" not in out


def wait_for_translators(*nodes: ServeProcess, timeout: float = 20.0) -> None:
    """Until every gateway node has seen a live translator's registration."""
    deadline = time.monotonic() + timeout
    for node in nodes:
        while not httpx_get(node, "/readyz")["engines"]:
            assert time.monotonic() < deadline, "gateway never saw a translator"
            time.sleep(0.05)


def live_translators(node: ServeProcess) -> set[str]:
    """The translator nodes a gateway currently sees alive."""
    return set(httpx_get(node, "/v1/stats")["translation"]["translators"])


def httpx_get(proc: ServeProcess, path: str) -> dict:
    import httpx

    return httpx.get(proc.http + path, timeout=10).json()


def translator_stats(proc: ServeProcess) -> dict:
    return httpx_get(proc, "/v1/stats")


def pending_job_counts(redis_url: str) -> dict[str, int]:
    """Jobs read by a translator and not yet acknowledged, per translator (consumer), over
    every jobs stream."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        counts: dict[str, int] = {}
        for key in client.scan_iter(match="bc:tx:jobs*", _type="stream"):
            for consumer in client.xpending(key, "translators")["consumers"]:
                name = consumer["name"]
                name = name.decode() if isinstance(name, bytes) else name
                counts[name] = counts.get(name, 0) + int(consumer["pending"])
        return counts
    finally:
        client.close()


def test_a_translator_killed_with_jobs_in_flight_hands_them_to_another(
        redis_url: str, processes: list[ServeProcess]) -> None:
    # The first translator's batcher holds every job for up to a minute (a batch waits that
    # long to fill), so the jobs are certainly in flight, read and unacknowledged, when it is
    # killed: no race with it finishing them.
    holding = start(processes, "--role", "translator", "--redis-url", redis_url, *FAST_CLAIM,
                    "--batch-max-wait-ms", "60000", "--translation-timeout-ms", "120000")
    gateway_args = ["--role", "gateway", "--redis-url", redis_url,
                    "--translation-wait-ms", "20", "--translation-timeout-ms", "60000",
                    "--rate-limit-per-s", "50", "--rate-limit-burst", "50"]
    node_a = start(processes, *gateway_args)
    node_b = start(processes, *gateway_args)
    for proc in (holding, node_a, node_b):
        proc.wait_ready()
    wait_for_translators(node_a, node_b)
    en = node_a.viewer("crash", "en", "Bob")
    pt = node_b.viewer("crash", "pt", "Ana")  # on the other node

    texts = ["Is it waterproof?", "I love this lipstick", "Does it come in red?",
             "How much is shipping to Brazil?", "Can you show the back again?",
             "Is this the last one in stock?", "What size is she wearing?",
             "When does the sale end?"]
    for n, text in enumerate(texts):
        en.comment(text, client_id=f"c{n}")
    acks = [en.expect(lambda f, c=f"c{n}": f["type"] == "ack" and f["client_id"] == c)
            for n in range(len(texts))]
    assert len({a["id"] for a in acks}) == len(texts)  # all accepted
    deadline = time.monotonic() + 20
    while sum(pending_job_counts(redis_url).values()) < len(texts):
        assert time.monotonic() < deadline, "the translator never took the jobs"
        time.sleep(0.05)
    while not any(f["type"] == "comment" and f["original"] == texts[-1] for f in pt.frames):
        pt.recv(timeout=20)  # node B has delivered every comment (pending) by now...
    # ...and asked for no translation of its own: one job per comment in the cluster, all
    # held by the one translator.
    assert list(pending_job_counts(redis_url).values()) == [len(texts)]

    holding.kill()  # SIGKILL with every job in flight
    assert sum(pending_job_counts(redis_url).values()) == len(texts)  # nothing answered
    second = start(processes, "--role", "translator", "--redis-url", redis_url, *FAST_CLAIM)
    second.wait_ready()

    # Every accepted comment reaches the Portuguese reader on the other node translated, once.
    finals = [pt.expect_final(text, timeout=30) for text in texts]
    assert [f["id"] for f in finals] == [a["id"] for a in acks]
    assert all(f["translated"] is True and f["reason"] is None for f in finals)
    comments = [f for f in pt.frames if f["type"] == "comment"]
    assert len(comments) == len(texts)  # once each: no duplicates
    worker = translator_stats(second)["translator_worker"]
    assert worker["claimed"] == len(texts) and worker["jobs"] == len(texts)
    assert sum(pending_job_counts(redis_url).values()) == 0


def test_a_pivot_across_two_translator_processes_reaches_viewers_translated(
        redis_url: str, processes: list[ServeProcess],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from babelcast.translation.toymodels import build_random_model

    root = tmp_path_factory.mktemp("pivot-deploy")
    models = {}
    for src, tgt in (("ko", "en"), ("en", "pt")):
        build_random_model(root / f"{src}-{tgt}", pairs=[(src, tgt)])
        models[src, tgt] = root / f"{src}-{tgt}.toml"
        models[src, tgt].write_text("[embedded]\nenabled = false\n\n[[models]]\n"
                                    f"path = '{src}-{tgt}'\nname = 'toy-{src}-{tgt}'\n")
    # Translator one has only ko->en, translator two only en->pt.
    translators = [start(processes, "--role", "translator", "--redis-url", redis_url,
                         "--models", str(leg), "--device", "cpu", *FAST_CLAIM)
                   for leg in models.values()]
    node = start(processes, "--role", "gateway", "--redis-url", redis_url)
    for proc in processes:
        proc.wait_ready()
    deadline = time.monotonic() + 20
    while len(live_translators(node)) < 2:
        assert time.monotonic() < deadline, "the gateway never saw both translators"
        time.sleep(0.05)

    ko = node.viewer("pivot", "ko", "Kim")
    pt = node.viewer("pivot", "pt", "Ana")
    en = node.viewer("pivot", "en", "Bob")
    ko.comment("이거 얼마예요?")
    got = pt.expect_final("이거 얼마예요?")
    assert got["src_lang"] == "ko" and got["translated"] is True and got["reason"] is None
    assert en.expect_final("이거 얼마예요?")["translated"] is True  # the first leg alone
    # One job each: the English reader's ko->en and the pivot's first leg are one request.
    assert [translator_stats(t)["translator_worker"]["jobs"] for t in translators] == [1, 1]
