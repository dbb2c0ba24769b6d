"""Coverage-guided fuzzing of the protocol parser and the blocklist skeleton with atheris
(libFuzzer). Not part of the test suite and atheris is not a dependency; see docs/fuzzing.md.

    pip install atheris
    python tests/fuzz/atheris_protocol.py -max_total_time=600 -max_len=9000 corpus/

An input is one flag byte (bit 0: msgpack instead of JSON, bit 1: the sender is a host) and
the frame. An empty corpus directory is seeded with a few valid frames first. A crash is any
exception other than the parser's own ``ProtocolError``, or an accepted comment that could not
be sent back out as UTF-8; libFuzzer writes the input to ``crash-*``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ahocorasick  # noqa: F401  (imported first: only the gateway's modules are instrumented)
import atheris
import msgpack
import regex  # noqa: F401

# The plain data the wire layer uses, loaded before instrumenting: only the gateway's modules are.
import babelcast.langid.codes
import babelcast.translation.engine  # noqa: F401

with atheris.instrument_imports():
    from babelcast.gateway.chat.moderation import Blocklist, default_entries, skeleton
    from babelcast.gateway.wire.client import CommentIn, InputLimits, parse_client_frame
    from babelcast.gateway.wire.codec import Codec
    from babelcast.gateway.wire.errors import ProtocolError

LIMITS = InputLimits()
BLOCKLIST = Blocklist(default_entries("en") + default_entries("ko"))
SEEDS = [
    {"type": "comment", "text": "tem frete grátis? 😍", "client_id": "c1"},
    {"type": "comment", "text": "f r e e  f0ll0wers \u202e", "client_id": None},
    {"type": "set_lang", "lang": "pt-BR"},
    {"type": "ping", "client_id": "p"},
    {"type": "delete", "id": "17", "client_id": "d"},
    {"type": "pin", "id": None},
    {"type": "ban", "user_id": "u-1234abcd"},
]


def seed(corpus: Path) -> None:
    """Write the seed frames, in both codecs and both roles, into an empty corpus."""
    if not corpus.is_dir() or any(corpus.iterdir()):
        return
    for i, frame in enumerate(SEEDS):
        for flags in range(4):
            body = msgpack.packb(frame) if flags & 1 else json.dumps(frame).encode()
            (corpus / f"seed-{i}-{flags}").write_bytes(bytes([flags]) + body)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    codec = Codec.MSGPACK if data[0] & 1 else Codec.JSON
    host = bool(data[0] & 2)
    payload: str | bytes = data[1:]
    if codec is Codec.JSON:
        try:  # a WebSocket text frame is valid UTF-8 (the transport checks)
            payload = data[1:].decode("utf-8")
        except UnicodeDecodeError:
            return
    try:
        frame = parse_client_frame(payload, codec, LIMITS, host)
    except ProtocolError as exc:
        json.dumps(exc.frame(), ensure_ascii=False).encode("utf-8")
        return
    if isinstance(frame, CommentIn):
        json.dumps({"text": frame.text, "id": frame.client_id},
                   ensure_ascii=False).encode("utf-8")
        skeleton(frame.text)
        BLOCKLIST.find(frame.text)


def main() -> None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            seed(Path(arg))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
