"""The ``babelcast`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from babelcast.gateway import doctor, workers
from babelcast.gateway.preflight import choose_device, serve_problem
from babelcast.gateway.settings import ENV_PREFIX, Settings, SettingsError
from babelcast.gateway.web.auth import Role


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babelcast",
        description="Multilingual live-chat translation gateway. Every viewer reads the chat "
                    "in the language they chose.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="run the gateway (WebSocket + REST + demo page)",
        usage="babelcast serve [--help] [options]",
        description="Run the gateway. With no model configured it translates English <-> "
                    "Portuguese with the embedded models (no download). Every flag can also "
                    "be set with a BABELCAST_* environment variable.",
    )
    Settings.add_arguments(serve)
    _add_models_parser(sub)
    _add_token_parser(sub)
    _add_bench_parser(sub)
    doctor.add_parser(sub)
    return parser


def _add_token_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = sub.add_parser(
        "token", help="issue a room token (for --auth jwt)",
        description="Print a room token (an HS256 JWT) that lets USER join ROOM as NAME with "
                    "ROLE. Connect with ?token=<token>. The secret must be the server's "
                    "--jwt-secret.")
    token.add_argument("--room", required=True)
    token.add_argument("--user", required=True, help="stable user id (the token's sub)")
    token.add_argument("--name", required=True, help="display name shown on comments")
    token.add_argument("--role", default="viewer", choices=[r.value for r in Role])
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires "
                                                            "(default 3600)")
    token.add_argument("--jwt-secret", default=None,
                       help="signing secret (default: env BABELCAST_JWT_SECRET; prefer the "
                            "variable, a flag is visible to other users in `ps`)")


def token_command(args: argparse.Namespace) -> int:
    """``babelcast token``: print one room token; errors are one line."""
    from babelcast.gateway.web.auth import RoomTokens

    secret = args.jwt_secret if args.jwt_secret is not None else os.environ.get(
        ENV_PREFIX + "JWT_SECRET", "")
    try:
        issued = RoomTokens(secret).issue(args.room, args.user, args.name, args.role, args.ttl)
    except ValueError as exc:
        print(f"babelcast token: {exc}", file=sys.stderr)
        return 2
    print(issued.token)
    return 0


def _add_bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "bench", help="load tests and benchmarks (from a source checkout)",
        usage="babelcast bench [-h] {e2e,all} [options]",
        description="e2e: an end-to-end load test with locust against a gateway it starts; "
                    "all: every benchmark at a quick scale, refreshing benchmarks/RESULTS.md. "
                    "Needs the benchmarks/ folder of a source checkout and the [bench] extra. "
                    "`babelcast bench e2e --help` lists the options.",
        add_help=False)  # `bench e2e --help` is the script's own help, passed through
    bench.add_argument("-h", "--help", action="help", help="show this help message and exit")
    bench.add_argument("bench_command", metavar="ACTION", choices=BENCH_SCRIPTS,
                       nargs="?", help="e2e or all")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


# `babelcast bench ACTION` runs benchmarks/<file>'s main(); benchmarks/ is not installed
# (see docs/architecture.md), so the commands need a source checkout.
BENCH_SCRIPTS = {"e2e": "e2e.py", "all": "bench_all.py"}
# What each action imports from the [bench] extra (the scripts import them late, mid-run).
BENCH_MODULES = {"e2e": ("locust", "psutil", "matplotlib", "orjson", "tqdm"),
                 "all": ("locust", "psutil", "matplotlib", "orjson", "tqdm", "lingua")}


def missing_modules(names: Sequence[str]) -> list[str]:
    """Those of ``names`` that cannot be imported (found without importing them)."""
    import importlib.util

    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: blocked in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def benchmarks_dir() -> Path | None:
    """The checkout's benchmarks/ folder: next to the imported ``gateway`` package (an
    editable install or a checkout on sys.path), else in the working directory."""
    import babelcast.gateway

    for root in (Path(babelcast.gateway.__file__).resolve().parent.parent, Path.cwd()):
        if (root / "benchmarks" / "e2e.py").is_file():
            return root / "benchmarks"
    return None


def bench_command(args: argparse.Namespace) -> int:
    """``babelcast bench e2e|all``: load the script from the checkout and run its main()."""
    import importlib

    if args.bench_command is None:
        print("usage: babelcast bench {e2e,all} [options]  (babelcast bench e2e --help)",
              file=sys.stderr)
        return 2
    folder = benchmarks_dir()
    if folder is None:
        print("babelcast bench: the benchmarks/ folder was not found; it ships in the source "
              "checkout, not in the wheel. Run it from a checkout: git clone ... && "
              "pip install -e '.[bench]' && babelcast bench e2e", file=sys.stderr)
        return 2
    asks_help = any(a in ("-h", "--help") for a in args.bench_args)
    missing = [] if asks_help else missing_modules(BENCH_MODULES[args.bench_command])
    if missing:
        print(f"babelcast bench {args.bench_command}: the [bench] extra is not installed "
              f"(missing: {', '.join(missing)}); install it with pip install -e '.[bench]' "
              "in the checkout", file=sys.stderr)
        return 2
    # On sys.path so that the scripts can import each other by name (bench_all uses e2e).
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module(BENCH_SCRIPTS[args.bench_command].removesuffix(".py"))
    except ImportError as exc:
        print(f"babelcast bench: {exc}; install the benchmark extra: "
              "pip install -e '.[bench]'", file=sys.stderr)
        return 2
    return int(module.main(args.bench_args))


def _add_models_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser(
        "models", help="convert and check CTranslate2 translation models",
        description="Prepare model directories for --models (see docs/models.md).")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION")
    convert = msub.add_parser(
        "convert", help="convert a Hugging Face model (Marian/OPUS-MT, NLLB-200, M2M100)",
        description="Convert a Hugging Face model id or a local Transformers folder into a "
                    "babelcast model directory (CTranslate2 model + SentencePiece files + "
                    "manifest.json). Needs the [convert] extra: pip install 'babelcast[convert]'.")
    convert.add_argument("source", help="Hugging Face model id (Helsinki-NLP/opus-mt-en-pt) or "
                                        "a local folder")
    convert.add_argument("--out", required=True, help="model directory to write")
    convert.add_argument("--quantization", default="int8",
                         help="weight type stored (default int8; int8_float16 or float16 for "
                              "GPU-only models)")
    convert.add_argument("--pair", type=_pair, default=None, metavar="SRC-TGT",
                         help="direction of a Marian model when its name does not say (en-pt)")
    convert.add_argument("--languages", type=_langs, default=None, metavar="LANGS",
                         help="comma-separated ISO 639-1 codes a multilingual model should "
                              "serve (default: every one babelcast knows in the model)")
    convert.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    check = msub.add_parser(
        "check", help="load a model directory and translate a sample",
        description="Load a model directory the way the gateway does and translate a sample "
                    "sentence; a missing or corrupt file is named.")
    check.add_argument("model_dir", help="model directory (from `babelcast models convert`)")
    check.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    check.add_argument("--compute-type", default="auto")
    check.add_argument("--text", default="How much is the red one?")
    check.add_argument("--pair", type=_pair, default=None, metavar="SRC-TGT",
                       help="direction to try (default: the model's first, or en->* for "
                            "multilingual models)")


def _pair(value: str) -> tuple[str, str]:
    parts = value.split("-")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"{value!r} is not SRC-TGT (e.g. en-pt)")
    return parts[0], parts[1]


def _langs(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def models_command(args: argparse.Namespace) -> int:
    """``babelcast models convert|check``; errors are one line that says what to do."""
    from babelcast.translation.engine import EngineError

    if args.models_command == "convert":
        from babelcast.translation.convert import ConvertError, convert_model

        try:
            result = convert_model(args.source, args.out, quantization=args.quantization,
                                   force=args.force, pair=args.pair, languages=args.languages)
        except (ConvertError, EngineError) as exc:
            print(f"babelcast models convert: {exc}", file=sys.stderr)
            return 1
        m = result.manifest
        what = (", ".join(f"{s}->{t}" for s, t in m.pairs) if m.pairs
                else f"{len(m.languages)} languages: {', '.join(m.languages)}")
        print(f"wrote {result.out} ({m.family}, {m.quantization}; {what})")
        print(f"add it to a models file: [[models]] path = \"{result.out}\"")
        return 0
    if args.models_command == "check":
        import time

        from babelcast.translation.convert import check_model

        started = time.perf_counter()
        try:
            rows = check_model(args.model_dir, device=args.device,
                               compute_type=args.compute_type, text=args.text,
                               pairs=[args.pair] if args.pair else None)
        except EngineError as exc:
            print(f"babelcast models check: {exc}", file=sys.stderr)
            return 1
        for src, tgt, out in rows:
            print(f"{src}->{tgt}: {out}")
        print(f"ok: {args.model_dir} loaded and translated in "
              f"{time.perf_counter() - started:.2f}s")
        return 0
    print("usage: babelcast models {convert,check} ... (see babelcast models --help)",
          file=sys.stderr)
    return 2


def websocket_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's protocol options for ``settings`` (``babelcast serve`` and the tests' live
    servers use the same): the WebSocket ones, and the HTTP protocol that closes connections
    whose request does not arrive within ``handshake_timeout_s``."""
    from babelcast.gateway.web.request_deadline import RequestDeadlineH11Protocol
    from babelcast.gateway.web.uvicorn_protocol import StallAbortingWebSocketProtocol

    ws: object = settings.ws_impl
    if settings.ws_impl == "websockets-sansio":
        ws = StallAbortingWebSocketProtocol
    return {
        "http": RequestDeadlineH11Protocol,
        "ws": ws,
        # Frames above our own limit get an error frame; only absurd ones are cut off here
        # (close 1009), before they are buffered whole.
        "ws_max_size": max(1 << 20, 4 * settings.max_frame_bytes),
        # Compression is per connection: it would undo encoding each frame once per group.
        "ws_per_message_deflate": False,
    }


def serve(settings: Settings) -> int:
    """Run uvicorn with the gateway app until interrupted (with ``--workers`` above 1, the
    supervisor of gateway workers and a translator); the exit status."""
    import logging.config

    import uvicorn

    from babelcast.gateway.node import create_app

    log_config = logging_config(settings.log_level)
    logging.config.dictConfig(log_config)
    if settings.worker_count > 1:
        return workers.run_workers(settings)
    if settings.engine != "none" and settings.role != "gateway":
        logging.getLogger("babelcast").info("%s", choose_device(settings).note)
    if settings.reuse_port == "on":
        # One of several processes on the port (a --workers child): bind it ourselves,
        # since uvicorn's own binding has no SO_REUSEPORT.
        sock = workers.reuse_port_socket(settings.host, settings.port)
        config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                                log_level=settings.log_level, log_config=log_config,
                                **websocket_options(settings))
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level, log_config=log_config,
                **websocket_options(settings))
    return 0


def logging_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up, with the ``babelcast`` loggers printed the same way at
    ``level`` (else only their warnings would show, unformatted)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["babelcast"] = {
        "handlers": ["default"], "propagate": False,
        "level": "DEBUG" if level == "trace" else level.upper()}
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``babelcast`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "models":
        return models_command(args)
    if args.command == "bench":
        return bench_command(args)
    if args.command == "token":
        return token_command(args)
    if args.command == "doctor":
        return doctor.doctor_command(args)
    values = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings = Settings.from_env(**values)
    except SettingsError as exc:
        parser.exit(2, f"babelcast: invalid setting: {exc}\n")
    if args.command == "serve":
        problem = serve_problem(settings)
        if problem:
            parser.exit(2, f"babelcast: {problem}\n")
        return serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
