"""What the chat layer tells the platform about: comments published, blocked, deleted, users
muted. The pipeline and the viewer sessions call a ``ChatEventSink`` they are given, or none;
the chat layer knows nothing of webhooks or HTTP (``babelcast.gateway.webhooks`` is one
sink)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from babelcast.gateway.events import ChatMessage
from babelcast.translation import Translation


class ChatEventSink(Protocol):
    """Told about each event as it happens; must not block (a sink queues, it never sends on
    the caller's path)."""

    def comment_published(self, msg: ChatMessage,
                          pending: Mapping[str, asyncio.Future[Translation]]) -> None:
        """``msg`` was published on this node; ``pending`` are the translations still being
        made for it, by target language (a sink may wait for them; it must not cancel them)."""

    def comment_blocked(self, room: str, user: str, user_id: str, text: str, src_lang: str,
                        *, via_translation: bool, message_id: int | None = None) -> None:
        """The blocklist refused a comment (``message_id`` None), or removed one already
        published when its moderation-language translation turned out blocked."""

    def comment_deleted(self, room: str, message_id: int, by_user_id: str) -> None:
        """A host or moderator deleted a message."""

    def user_muted(self, room: str, user_id: str, by_user_id: str) -> None:
        """A host or moderator muted a user in a room."""
