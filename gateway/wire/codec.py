"""How frames are carried: JSON text frames (the default) or msgpack binary frames, chosen by
the subprotocol the client offers (docs/protocol.md, "Encoding")."""

from __future__ import annotations

import enum
import json
from typing import Any

import msgpack

from babelcast.gateway.wire.codes import INVALID_FRAME, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK
from babelcast.gateway.wire.errors import ProtocolError


class Codec(enum.Enum):
    """How frames are carried: JSON text frames (default) or msgpack binary frames."""

    JSON = "json"
    MSGPACK = "msgpack"

    @classmethod
    def for_subprotocols(cls, offered: list[str]) -> tuple[Codec, str | None]:
        """Pick the codec from the client's offered subprotocols; returns the one to accept."""
        if SUBPROTOCOL_MSGPACK in offered:
            return cls.MSGPACK, SUBPROTOCOL_MSGPACK
        if SUBPROTOCOL_JSON in offered:
            return cls.JSON, SUBPROTOCOL_JSON
        return cls.JSON, None

    def encode(self, frame: dict[str, Any]) -> str | bytes:
        """Serialise a server frame: ``str`` for JSON, ``bytes`` for msgpack."""
        if self is Codec.JSON:
            return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        return msgpack.packb(frame, use_bin_type=True)

    def decode(self, data: str | bytes) -> Any:
        """Parse a frame payload; raises ``ProtocolError(invalid_frame)``."""
        try:
            if self is Codec.JSON:
                if not isinstance(data, str):
                    raise ValueError("binary frame on a JSON connection; send text frames")
                obj = json.loads(data)
                if "\\u" in data and has_lone_surrogate(obj):
                    # JSON escapes can spell half a surrogate pair, which no UTF-8 frame
                    # (ours to other viewers included) can carry.
                    raise ValueError("an unpaired surrogate escape (\\ud800-\\udfff); send "
                                     "valid Unicode")
                return obj
            if not isinstance(data, bytes):
                raise ValueError("text frame on a msgpack connection; send binary frames")
            return msgpack.unpackb(data, raw=False, strict_map_key=True)
        except RecursionError:  # found by tests/live/test_fuzz_protocol.py
            raise ProtocolError(INVALID_FRAME, f"cannot decode frame as {self.value}: nested "
                                "too deeply") from None
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
                TypeError) as exc:
            raise ProtocolError(INVALID_FRAME, f"cannot decode frame as {self.value}: {exc}")\
                from None


def has_lone_surrogate(obj: Any) -> bool:
    """Whether a decoded JSON value holds half a surrogate pair (from a ``\\ud800`` escape)."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
