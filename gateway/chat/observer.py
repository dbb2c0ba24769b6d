"""What the chat layer reports as it works, for whoever measures it (``/metrics``).

The pipeline and the translation tracker call a ``PipelineObserver`` they are given, or none
(metrics off): the chat layer knows nothing of Prometheus or of the web layer."""

from __future__ import annotations

from typing import Protocol


class PipelineObserver(Protocol):
    """Told about each comment and translation as it happens; must not block."""

    def language_detected(self, reason: str) -> None:
        """Language ID decided a comment's language by the rule ``reason``."""

    def comment_published(self, seconds: float) -> None:
        """A comment was accepted and published ``seconds`` after it arrived."""

    def translation_done(self, outcome: str, seconds: float) -> None:
        """One (comment, target language) translation took ``seconds``; ``outcome`` is
        ``translated`` or the reason it was not."""
