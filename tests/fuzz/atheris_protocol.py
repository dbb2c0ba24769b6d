"""Coverage-guided fuzzing of the protocol parser and the blocklist skeleton with atheris
(libFuzzer). Not part of the test suite and atheris is not a dependency; see docs/fuzzing.md.

    pip install atheris
    python tests/fuzz/atheris_protocol.py -max_total_time=600 -max_len=9000 [corpus_dir]

A crash is any exception other than the parser's own ``ProtocolError`` (or a comment that
could not be sent back out as UTF-8); libFuzzer writes the input to ``crash-*``.
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from gateway import protocol as p
    from gateway.moderation import Blocklist, default_entries, skeleton

LIMITS = p.InputLimits()
BLOCKLIST = Blocklist(default_entries("en") + default_entries("ko"))


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    codec = p.Codec.MSGPACK if fdp.ConsumeBool() else p.Codec.JSON
    host = fdp.ConsumeBool()
    payload: str | bytes
    if codec is p.Codec.JSON:
        payload = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    else:
        payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        frame = p.parse_client_frame(payload, codec, LIMITS, host)
    except p.ProtocolError as exc:
        json.dumps(exc.frame(), ensure_ascii=False).encode("utf-8")
        return
    if isinstance(frame, p.CommentIn):
        json.dumps({"text": frame.text, "id": frame.client_id},
                   ensure_ascii=False).encode("utf-8")
        skeleton(frame.text)
        BLOCKLIST.find(frame.text)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
