"""Server frames built from room data, one language at a time."""

from __future__ import annotations

from typing import Any

from babelcast.gateway.events import ChatMessage
from babelcast.langid import UNDETERMINED as UND_LANG
from babelcast.translation import UNDETERMINED, Translation


def comment_frame(msg: ChatMessage, lang: str, pending: bool = False,
                  translation: Translation | None = None) -> dict[str, Any]:
    """The ``comment`` frame of ``msg`` for readers of ``lang``.

    With a translation into ``lang`` it carries that text; otherwise the original, with
    ``pending`` when a translation is on its way or ``reason`` saying why there is none.
    ``translation`` supplies one not yet recorded on ``msg``.
    """
    frame: dict[str, Any] = {
        "type": "comment", "id": wire_id(msg.id), "user": msg.user, "user_id": msg.user_id,
        "src_lang": msg.src_lang, "lang": lang, "ts": msg.ts, "original": msg.text,
        "glossary_hits": list(msg.glossary_hits), "question": msg.question,
    }
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


def wire_id(message_id: int) -> str:
    """A message id as clients see it: digits, or ``~`` and digits for a provisional one
    (a negative id: held by its node while Redis is unreachable)."""
    return str(message_id) if message_id >= 0 else f"~{-message_id}"


def translation_frame(message_id: int, t: Translation) -> dict[str, Any]:
    """The ``translation`` frame that completes a comment sent ``pending``."""
    return {"type": "translation", "id": wire_id(message_id), "lang": t.lang, "text": t.text,
            "translated": t.translated, "reason": t.reason}


def deleted_frame(message_id: int) -> dict[str, Any]:
    """The ``deleted`` frame: message ``message_id`` was removed by a host."""
    return {"type": "deleted", "id": str(message_id)}


def pinned_frame(msg: ChatMessage | None, lang: str, pending: bool = False) -> dict[str, Any]:
    """The ``pinned`` frame for readers of ``lang``: the pinned comment, or ``id: null`` when
    the pin was removed."""
    if msg is None:
        return {"type": "pinned", "id": None}
    return {"type": "pinned", "id": str(msg.id), "comment": comment_frame(msg, lang, pending)}


def needs_translation(msg: ChatMessage, lang: str) -> bool:
    """Whether readers of ``lang`` still lack a translation of ``msg``."""
    return (lang != msg.src_lang and msg.src_lang != UND_LANG
            and lang not in msg.translations)
