"""Wire protocol v1, free of I/O: decoding and validating client frames, encoding server
frames, and the per-connection rate limiter. The endpoint feeds it bytes and acts on what it
returns; everything here is testable without a socket. See docs/protocol.md."""

from __future__ import annotations

import enum
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import msgpack

from babelcast.langid import normalize_lang

SUBPROTOCOL_MSGPACK = "babelcast.v1.msgpack"
SUBPROTOCOL_JSON = "babelcast.v1.json"

# Close codes (4000-4999 are ours; see docs/protocol.md).
CLOSE_BAD_HANDSHAKE = 4400  # invalid room, lang, name or since: an error frame precedes it
CLOSE_SLOW_CONSUMER = 4408  # the viewer stopped reading for longer than stall_timeout_s
CLOSE_RATE_LIMITED = 4429  # kept flooding after rate_limited errors
CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_POLICY_VIOLATION = 1008  # a refused handshake, on servers that cannot answer with HTTP
CLOSE_SERVICE_RESTART = 1012  # message ids started over (Redis lost its data): reconnect
CLOSE_TRY_AGAIN_LATER = 1013  # the shared backend (Redis) is unreachable

# Error codes carried by `error` frames.
INVALID_FRAME = "invalid_frame"
FRAME_TOO_LARGE = "frame_too_large"
UNKNOWN_TYPE = "unknown_type"
INVALID_FIELD = "invalid_field"
EMPTY_TEXT = "empty_text"
TEXT_TOO_LONG = "text_too_long"
INVALID_LANG = "invalid_lang"
FORBIDDEN = "forbidden"
RATE_LIMITED = "rate_limited"
INVALID_ROOM = "invalid_room"
INVALID_NAME = "invalid_name"
INVALID_SINCE = "invalid_since"
INTERNAL_ERROR = "internal_error"
UNAVAILABLE = "unavailable"
NOT_FOUND = "not_found"
MUTED = "muted"
BLOCKED = "blocked"  # moderation (docs/moderation.md): the blocklist caught the comment
SLOW_MODE = "slow_mode"  # the room's slow mode: the frame carries retry_after_s
ROOM_BUSY = "room_busy"  # the room's comment rate cap shed the comment

HOST_ONLY_TYPES = frozenset({"delete", "ban", "unban", "pin"})
_ROOM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_CLIENT_ID = 64
_MAX_USER_ID = 64
_MAX_ID_DIGITS = 18


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


class ProtocolError(Exception):
    """A client frame that cannot be accepted. Becomes an ``error`` frame; the connection
    stays open."""

    def __init__(self, code: str, message: str, client_id: str | None = None, *,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id
        self.retry_after_s = retry_after_s

    def frame(self) -> dict[str, Any]:
        """The ``error`` frame for this problem."""
        frame = error_frame(self.code, self.message, self.client_id)
        if self.retry_after_s is not None:
            frame["retry_after_s"] = self.retry_after_s
        return frame


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    """Build an ``error`` server frame."""
    return {"type": "error", "code": code, "message": message, "client_id": client_id}


@dataclass(frozen=True)
class InputLimits:
    max_text_chars: int = 500
    max_frame_bytes: int = 8192


@dataclass(frozen=True)
class CommentIn:
    text: str
    client_id: str | None


@dataclass(frozen=True)
class SetLangIn:
    lang: str
    client_id: str | None


@dataclass(frozen=True)
class PingIn:
    client_id: str | None


@dataclass(frozen=True)
class DeleteIn:
    """Host action: remove message ``id`` from the room."""

    id: int
    client_id: str | None


@dataclass(frozen=True)
class PinIn:
    """Host action: pin message ``id`` (None: unpin)."""

    id: int | None
    client_id: str | None


@dataclass(frozen=True)
class BanIn:
    """Host action: mute ``user_id`` in the room."""

    user_id: str
    client_id: str | None


@dataclass(frozen=True)
class UnbanIn:
    """Host action: lift the mute of ``user_id`` in the room."""

    user_id: str
    client_id: str | None


ClientFrame = CommentIn | SetLangIn | PingIn | DeleteIn | PinIn | BanIn | UnbanIn


def strip_controls(text: str) -> str:
    """Remove control characters (category Cc); newlines and tabs become spaces."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\t\r":
            out.append(" ")
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return "".join(out)


def parse_client_frame(data: str | bytes, codec: Codec, limits: InputLimits,
                       host: bool = False) -> ClientFrame:
    """Decode and validate one client frame; raises ``ProtocolError`` naming the problem.
    Host-only frames are ``forbidden`` unless ``host``."""
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > limits.max_frame_bytes:
        raise ProtocolError(FRAME_TOO_LARGE,
                            f"frame is {size} bytes; the limit is {limits.max_frame_bytes}")
    obj = codec.decode(data)
    if not isinstance(obj, dict):
        raise ProtocolError(INVALID_FRAME, "a frame must be an object with a 'type' field")
    client_id = obj.get("client_id")
    if client_id is not None and (not isinstance(client_id, str)
                                  or len(client_id) > _MAX_CLIENT_ID):
        raise ProtocolError(INVALID_FIELD,
                            f"'client_id' must be a string of at most {_MAX_CLIENT_ID} characters")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(INVALID_FIELD, "'type' must be a string", client_id)
    if kind == "comment":
        return CommentIn(validate_text(obj.get("text"), limits, client_id), client_id)
    if kind == "set_lang":
        return SetLangIn(validate_lang(obj.get("lang"), client_id), client_id)
    if kind == "ping":
        return PingIn(client_id)
    if kind in HOST_ONLY_TYPES and host:
        return _parse_host_frame(kind, obj, client_id)
    if kind in HOST_ONLY_TYPES:
        raise ProtocolError(FORBIDDEN, f"'{kind}' is for hosts and moderators only", client_id)
    raise ProtocolError(UNKNOWN_TYPE, f"unknown frame type {kind[:40]!r}; expected comment, "
                        "set_lang or ping", client_id)


def _parse_host_frame(kind: str, obj: dict[str, Any], client_id: str | None) -> ClientFrame:
    if kind == "delete":
        return DeleteIn(validate_message_id(obj.get("id"), client_id), client_id)
    if kind == "pin":
        if "id" not in obj:
            raise ProtocolError(INVALID_FIELD, "'pin' needs 'id': a message id like \"17\", "
                                "or null to unpin", client_id)
        value = obj["id"]
        return PinIn(None if value is None else validate_message_id(value, client_id),
                     client_id)
    user_id = obj.get("user_id")
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= _MAX_USER_ID:
        raise ProtocolError(INVALID_FIELD, f"'user_id' must be a string of 1-{_MAX_USER_ID} "
                            "characters (a comment's user_id)", client_id)
    return BanIn(user_id, client_id) if kind == "ban" else UnbanIn(user_id, client_id)


def validate_message_id(value: Any, client_id: str | None = None) -> int:
    """A message id as the wire carries it: a string of digits ("17")."""
    if (not isinstance(value, str) or not value.isascii() or not value.isdigit()
            or len(value) > _MAX_ID_DIGITS):
        raise ProtocolError(INVALID_FIELD, f"'id' must be a message id, a string of digits "
                            f"like \"17\"; got {repr(value)[:40]}", client_id)
    return int(value)


def peek_client_id(data: str | bytes, codec: Codec, limits: InputLimits) -> str | None:
    """The ``client_id`` of a frame that will not be handled (rate-limited), if readable."""
    if len(data) > limits.max_frame_bytes:
        return None
    try:
        obj = codec.decode(data)
    except ProtocolError:
        return None
    cid = obj.get("client_id") if isinstance(obj, dict) else None
    return cid if isinstance(cid, str) and len(cid) <= _MAX_CLIENT_ID else None


def validate_text(value: Any, limits: InputLimits, client_id: str | None = None) -> str:
    """A comment's text: a string, control characters stripped, not blank, not too long."""
    if not isinstance(value, str):
        raise ProtocolError(INVALID_FIELD, "'text' must be a string", client_id)
    text = strip_controls(value).strip()
    if not text:
        raise ProtocolError(EMPTY_TEXT, "'text' is empty", client_id)
    if len(text) > limits.max_text_chars:
        raise ProtocolError(TEXT_TOO_LONG, f"'text' has {len(text)} characters; the limit is "
                            f"{limits.max_text_chars}", client_id)
    return text


def validate_lang(value: Any, client_id: str | None = None) -> str:
    """An ISO 639-1 code ("pt", "pt-BR" -> "pt")."""
    lang = normalize_lang(value) if isinstance(value, str) else None
    if lang is None:
        shown = repr(value)[:40]
        raise ProtocolError(INVALID_LANG, f"{shown} is not an ISO 639-1 language code "
                            "(e.g. 'en', 'pt', 'ko')", client_id)
    return lang


def validate_room(room: str) -> str:
    """Room names: 1-64 of letters, digits, '_', '.', '-', starting with a letter or digit."""
    if not _ROOM_RE.match(room):
        raise ProtocolError(INVALID_ROOM, "room names are 1-64 characters of A-Z a-z 0-9 _ . - "
                            "and start with a letter or digit")
    return room


# Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): in a name
# they only serve to reorder what is shown around it (the host's buttons, a "Muted ..." notice).
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def validate_name(value: str | None, max_chars: int, fallback: str) -> str:
    """A display name: control characters and bidi embedding, override and isolate controls
    stripped, at most ``max_chars``; blank -> fallback."""
    if value is None:
        return fallback
    name = strip_controls(value).translate(_BIDI_CONTROLS).strip()
    if len(name) > max_chars:
        raise ProtocolError(INVALID_NAME, f"name has {len(name)} characters; the limit is "
                            f"{max_chars}")
    return name or fallback


def validate_since(value: str | None) -> int | None:
    """The last message id a reconnecting client saw."""
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise ProtocolError(INVALID_SINCE, f"since={value[:40]!r} is not a message id")
    return int(value)


class TokenBucket:
    """A rate limit: ``rate`` tokens per second, at most ``burst`` saved up.
    Time is passed in so the limiter is deterministic under test."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = now

    @property
    def last_used(self) -> float:
        """When ``take`` was last called (or the bucket made)."""
        return self._last

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
