"""Client frames and handshake values, decoded and validated without I/O: the endpoint feeds
this module what it received and acts on the dataclass it returns, or on the
``ProtocolError`` naming the problem (docs/protocol.md, "Client → server")."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.codes import (
    DEFAULT_REACTION,
    EMPTY_TEXT,
    FORBIDDEN,
    FRAME_TOO_LARGE,
    INVALID_FIELD,
    INVALID_FRAME,
    INVALID_LANG,
    INVALID_NAME,
    INVALID_ROOM,
    INVALID_SINCE,
    TEXT_TOO_LONG,
    UNKNOWN_TYPE,
)
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.langid.codes import normalize_lang

HOST_ONLY_TYPES = frozenset({"delete", "ban", "unban", "pin"})
_ROOM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_CLIENT_ID = 64
_MAX_USER_ID = 64
_MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class InputLimits:
    """How much one client frame may carry (advertised in ``welcome``)."""

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


@dataclass(frozen=True)
class ReactIn:
    """A reaction (``heart``...) to the stream (``target`` None) or to message ``target``.
    Whether the room accepts ``reaction`` is the room's business, not the wire's."""

    reaction: str
    target: int | None
    client_id: str | None


@dataclass(frozen=True)
class VoteIn:
    """A vote for question ``id`` (once per user; whether it is a question still in history
    is the room's business, not the wire's)."""

    id: int
    client_id: str | None


ClientFrame = (CommentIn | SetLangIn | PingIn | DeleteIn | PinIn | BanIn | UnbanIn | ReactIn
               | VoteIn)

_REACTION_RE = re.compile(r"^[a-z_]{1,16}$")


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
    if kind == "react":
        return _parse_react(obj, client_id)
    if kind == "vote":
        return VoteIn(validate_message_id(obj.get("id"), client_id), client_id)
    if kind in HOST_ONLY_TYPES and host:
        return _parse_host_frame(kind, obj, client_id)
    if kind in HOST_ONLY_TYPES:
        raise ProtocolError(FORBIDDEN, f"'{kind}' is for hosts and moderators only", client_id)
    raise ProtocolError(UNKNOWN_TYPE, f"unknown frame type {kind[:40]!r}; expected comment, "
                        "set_lang, react, vote or ping", client_id)


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


def _parse_react(obj: dict[str, Any], client_id: str | None) -> ReactIn:
    reaction = obj.get("reaction", DEFAULT_REACTION)
    if not isinstance(reaction, str) or not _REACTION_RE.match(reaction):
        raise ProtocolError(INVALID_FIELD, "'reaction' must be a reaction name like \"heart\"; "
                            f"got {repr(reaction)[:40]}", client_id)
    target = obj.get("target")
    if target is not None:
        target = validate_message_id(target, client_id, "target")
    return ReactIn(reaction, target, client_id)


def validate_message_id(value: Any, client_id: str | None = None, name: str = "id") -> int:
    """A message id as the wire carries it: a string of digits ("17"); ``name`` is the field
    the error names."""
    if (not isinstance(value, str) or not value.isascii() or not value.isdigit()
            or len(value) > _MAX_ID_DIGITS):
        raise ProtocolError(INVALID_FIELD, f"'{name}' must be a message id, a string of digits "
                            f"like \"17\"; got {repr(value)[:40]}", client_id)
    return int(value)


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


def clean_name(value: str) -> str:
    """A display name with control characters and bidi embedding, override and isolate
    controls stripped (a name chosen in the URL or given by a room token alike)."""
    return strip_controls(value).translate(_BIDI_CONTROLS).strip()


def validate_name(value: str | None, max_chars: int, fallback: str) -> str:
    """A display name: ``clean_name``, at most ``max_chars``; blank -> fallback."""
    if value is None:
        return fallback
    name = clean_name(value)
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
