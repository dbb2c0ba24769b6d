"""The JSON of each webhook event (docs/webhooks.md): an envelope ``{"type", "timestamp",
"data"}`` as the Standard Webhooks specification recommends, and the ``data`` of each type."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from babelcast.gateway.events import ChatMessage
from babelcast.gateway.wire.server import wire_id
from babelcast.translation import Translation


@dataclass(frozen=True)
class WebhookEvent:
    """One event, encoded once for every endpoint: ``id`` is its ``webhook-id`` (the same on
    every attempt, so receivers can drop a duplicate delivery)."""

    id: str
    type: str
    room: str
    body: bytes

    def summary(self) -> dict[str, Any]:
        """What the delivery log shows of the event."""
        return {"event_id": self.id, "type": self.type, "room": self.room}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(event_type: str, room: str, data: Mapping[str, Any]) -> WebhookEvent:
    """An event of ``event_type`` about ``room``, with a fresh id and the time now."""
    body = json.dumps({"type": event_type, "timestamp": _now_iso(), "data": dict(data)},
                      ensure_ascii=False, separators=(",", ":")).encode()
    return WebhookEvent("msg_" + secrets.token_hex(12), event_type, room, body)


def translation_json(t: Translation) -> dict[str, Any]:
    """One translation: its text, and why it is the original when it was not translated."""
    out: dict[str, Any] = {"text": t.text, "translated": t.translated}
    if not t.translated:
        out["reason"] = t.reason
    return out


def comment_data(msg: ChatMessage, translations: Mapping[str, Translation],
                 pending: tuple[str, ...]) -> dict[str, Any]:
    """``comment.published`` and ``question.asked``: the comment, every translation made so
    far, and the languages still ``pending`` when the translation wait ran out."""
    return {
        "room": msg.room, "message_id": wire_id(msg.id), "epoch": msg.epoch, "user": msg.user,
        "user_id": msg.user_id, "text": msg.text, "lang": msg.src_lang, "ts": msg.ts,
        "question": msg.question, "glossary_hits": list(msg.glossary_hits),
        "translations": {lang: translation_json(t) for lang, t in sorted(translations.items())},
        "pending": sorted(pending),
    }


def blocked_data(room: str, user: str, user_id: str, text: str, src_lang: str, *,
                 via_translation: bool, message_id: int | None) -> dict[str, Any]:
    """``comment.blocked``: who wrote what, and whether the blocked words were in its
    moderation-language translation; ``message_id`` when it had been published (then it was
    removed from the chat)."""
    return {"room": room, "user": user, "user_id": user_id, "text": text, "lang": src_lang,
            "via_translation": via_translation,
            "message_id": None if message_id is None else wire_id(message_id)}


def deleted_data(room: str, message_id: int, by_user_id: str) -> dict[str, Any]:
    """``comment.deleted``: which message, deleted by whom."""
    return {"room": room, "message_id": wire_id(message_id), "by_user_id": by_user_id}


def muted_data(room: str, user_id: str, by_user_id: str) -> dict[str, Any]:
    """``user.muted``: who was muted in which room, by whom."""
    return {"room": room, "user_id": user_id, "by_user_id": by_user_id}
