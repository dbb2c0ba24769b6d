"""How long a comment waits for its moderation-language translation.

A sender's comments are handled one at a time, in order. While translations do not come back
(the translator is down, the engine hangs), every comment would wait the full
``moderation_wait_ms`` and the ones a sender typed meanwhile would wait behind it: acks of 2 s
and more for a 1 s wait. So once one such translation has been late, comments stop waiting:
they are published at once and checked when their translation lands (the late check), until a
translation into a moderation language comes back within the wait again.
"""

from __future__ import annotations


class ModerationWait:
    """The wait for the next comment: ``wait_s``, or none while translations are late."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.late = False  # the last moderation translation to finish came after the wait
        self.skipped = 0  # comments published without waiting because of that

    def budget(self) -> float:
        """Seconds the next comment may wait for its translation (0.0 while late)."""
        if self.late:
            self.skipped += 1
            return 0.0
        return self.wait_s

    def missed(self) -> None:
        """A comment waited its whole budget and its translation did not come."""
        self.late = True

    def finished(self, seconds: float, translated: bool) -> None:
        """A moderation translation finished ``seconds`` after it started."""
        if seconds > self.wait_s:
            self.late = True
        elif translated:
            self.late = False
        # A failure that came at once (no route, no translator alive) says nothing about
        # whether a wait would pay off: it costs no wait either way.
