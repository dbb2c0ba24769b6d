"""The ``babelcast`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babelcast",
        description="Multilingual live-chat translation gateway. Every viewer reads the chat "
                    "in the language they chose.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="run the gateway (WebSocket + REST + demo page)",
        description="Run the gateway. With no model configured it translates English <-> "
                    "Portuguese with the embedded models (no download). Every flag can also "
                    "be set with a BABELCAST_* environment variable.",
    )
    Settings.add_arguments(serve)
    return parser


def serve(settings: Settings) -> None:
    """Run uvicorn with the gateway app until interrupted."""
    import uvicorn

    from gateway.app import create_app
    from gateway.ws_protocol import StallAbortingWebSocketProtocol

    ws: object = settings.ws_impl
    if settings.ws_impl == "websockets-sansio":
        ws = StallAbortingWebSocketProtocol
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port,
        log_level=settings.log_level, ws=ws,  # type: ignore[arg-type]
        # Frames above our own limit get an error frame; only absurd ones are cut off here.
        ws_max_size=max(1 << 20, 4 * settings.max_frame_bytes),
        # Compression is per connection: it would undo encoding each frame once per group.
        ws_per_message_deflate=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``babelcast`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    values = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        settings = Settings.from_env(**values)
    except SettingsError as exc:
        parser.exit(2, f"babelcast: invalid setting: {exc}\n")
    if args.command == "serve":
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
