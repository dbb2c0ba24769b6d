"""Every frame the server sends, built here and nowhere else (docs/protocol.md, "Server →
client"). Each builder returns the frame as a plain dict, in the field order the protocol
document shows; ``codec`` serialises it and ``framing`` wraps it for the socket."""

from __future__ import annotations

from typing import Any

from babelcast.gateway.events import ChatMessage
from babelcast.gateway.wire.codes import PROTOCOL_VERSION
from babelcast.langid.codes import UNDETERMINED as UND_LANG
from babelcast.translation.engine import UNDETERMINED, Translation

Frame = dict[str, Any]


def wire_id(message_id: int) -> str:
    """A message id as clients see it: digits, or ``~`` and digits for a provisional one
    (a negative id: held by its node while Redis is unreachable)."""
    return str(message_id) if message_id >= 0 else f"~{-message_id}"


def welcome_frame(*, room: str, epoch: str, user_id: str, name: str, lang: str, role: str,
                  history: list[Frame], gap: bool, pinned: Frame | None,
                  viewers: dict[str, int], max_text_chars: int, max_frame_bytes: int,
                  rate_limit_per_s: float, rate_limit_burst: int,
                  reactions: tuple[str, ...] = ()) -> Frame:
    """The ``welcome`` frame, first on every connection: who the viewer is, the room's recent
    ``history`` (comment frames; ``gap`` when some are missing), its pinned comment, who is
    here, the limits the viewer's frames must keep, and the reactions the room accepts."""
    return {
        "type": "welcome", "protocol": PROTOCOL_VERSION, "room": room, "epoch": epoch,
        "you": {"user_id": user_id, "name": name, "lang": lang, "role": role},
        "history": history, "gap": gap, "pinned": pinned,
        "presence": {"viewers": viewers, "total": sum(viewers.values())},
        "limits": {"max_text_chars": max_text_chars, "max_frame_bytes": max_frame_bytes,
                   "rate_limit_per_s": rate_limit_per_s, "rate_limit_burst": rate_limit_burst},
        "reactions": list(reactions),
    }


def comment_frame(msg: ChatMessage, lang: str, pending: bool = False,
                  translation: Translation | None = None, votes: int | None = None) -> Frame:
    """The ``comment`` frame of ``msg`` for readers of ``lang``; a question carries its
    ``votes`` so far when the caller knows them (None: the field is left out, never a
    guessed 0; ``votes`` frames bring the count).

    With a translation into ``lang`` it carries that text; otherwise the original, with
    ``pending`` when a translation is on its way or ``reason`` saying why there is none.
    ``translation`` supplies one not yet recorded on ``msg``.
    """
    frame: Frame = {
        "type": "comment", "id": wire_id(msg.id), "user": msg.user, "user_id": msg.user_id,
        "src_lang": msg.src_lang, "lang": lang, "ts": msg.ts, "original": msg.text,
        "glossary_hits": list(msg.glossary_hits), "question": msg.question,
    }
    if msg.question and votes is not None:
        frame["votes"] = votes
    if msg.origin:
        frame["from"] = msg.origin  # posted through the server API: shop, host or system
    if msg.id < 0:
        frame["provisional"] = True
    if msg.replaces:
        frame["replaces"] = wire_id(-msg.replaces)
    if lang == msg.src_lang:
        frame.update(text=msg.text, translated=False, pending=False, reason=None)
        return frame
    if msg.src_lang == UND_LANG:
        frame.update(text=msg.text, translated=False, pending=False, reason=UNDETERMINED)
        return frame
    found = translation or msg.translations.get(lang)
    if found is not None:
        frame.update(text=found.text, translated=found.translated, pending=False,
                     reason=found.reason)
        return frame
    frame.update(text=msg.text, translated=False, pending=pending, reason=None)
    return frame


def needs_translation(msg: ChatMessage, lang: str) -> bool:
    """Whether readers of ``lang`` still lack a translation of ``msg`` (its ``comment`` frame
    for them would be the original, ``pending``)."""
    return (lang != msg.src_lang and msg.src_lang != UND_LANG
            and lang not in msg.translations)


def translation_frame(message_id: int, t: Translation) -> Frame:
    """The ``translation`` frame that completes a comment sent ``pending``."""
    return {"type": "translation", "id": wire_id(message_id), "lang": t.lang, "text": t.text,
            "translated": t.translated, "reason": t.reason}


def ack_frame(client_id: str | None, msg: ChatMessage) -> Frame:
    """The ``ack`` of a comment: it was accepted as ``msg`` (``provisional`` while its node
    holds it, Redis being unreachable)."""
    frame: Frame = {"type": "ack", "client_id": client_id, "id": wire_id(msg.id),
                    "src_lang": msg.src_lang}
    if msg.id < 0:
        frame["provisional"] = True
    return frame


def action_ack_frame(client_id: str | None, target: str | None) -> Frame:
    """The ``ack`` of a host action: done to ``target`` (a message id, a user id, or None for
    an unpin)."""
    return {"type": "ack", "client_id": client_id, "id": target}


def deleted_frame(message_id: int) -> Frame:
    """The ``deleted`` frame: message ``message_id`` was removed by a host."""
    return {"type": "deleted", "id": str(message_id)}


def pinned_frame(msg: ChatMessage | None, lang: str, pending: bool = False) -> Frame:
    """The ``pinned`` frame for readers of ``lang``: the pinned comment, or ``id: null`` when
    the pin was removed."""
    if msg is None:
        return {"type": "pinned", "id": None}
    return {"type": "pinned", "id": str(msg.id), "comment": comment_frame(msg, lang, pending)}


def lang_changed_frame(lang: str, client_id: str | None, history: list[Frame],
                       pinned: Frame | None) -> Frame:
    """The reply to ``set_lang``: the room's history and pinned comment in ``lang``."""
    return {"type": "lang_changed", "lang": lang, "client_id": client_id, "history": history,
            "pinned": pinned}


def presence_frame(room: str, viewers: dict[str, int]) -> Frame:
    """The ``presence`` frame: viewers per language in ``room``."""
    return {"type": "presence", "room": room, "viewers": viewers,
            "total": sum(viewers.values())}


def reactions_frame(room: str, counts: dict[str, int], comments: dict[int, dict[str, int]],
                    interval_ms: int) -> Frame:
    """The ``reactions`` frame: the room's reactions since the previous one, to the stream
    (``counts``) and to comments (``comments``, by message id). It has no language."""
    return {"type": "reactions", "room": room, "counts": dict(counts),
            "comments": {wire_id(mid): dict(c) for mid, c in comments.items()},
            "interval_ms": interval_ms}


def votes_frame(message_id: int, votes: int) -> Frame:
    """The ``votes`` frame: question ``message_id`` has ``votes`` votes now (every node's
    viewers, every language). It has no language."""
    return {"type": "votes", "id": wire_id(message_id), "votes": votes}


def pong_frame(client_id: str | None) -> Frame:
    """The reply to ``ping``."""
    return {"type": "pong", "client_id": client_id}


def error_frame(code: str, message: str, client_id: str | None = None,
                retry_after_s: float | None = None) -> Frame:
    """An ``error`` frame (``code`` from ``codes``); ``retry_after_s`` when waiting helps."""
    frame: Frame = {"type": "error", "code": code, "message": message, "client_id": client_id}
    if retry_after_s is not None:
        frame["retry_after_s"] = retry_after_s
    return frame
