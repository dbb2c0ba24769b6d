"""``Health``: whether Redis answers one component, under one name for the state.

Every Redis user keeps one: ``degraded`` is true from a failed call until a call succeeds.
Each failure is counted (``failures``), each outage too (``outages``), and only the
transitions are logged (one warning when Redis stops answering, one when it is back), so an
outage of minutes does not fill the log with one line per attempt. What the component does
meanwhile (retries, falls back to this node's state) is its own; ``when_down`` and
``when_back`` say it in the log lines."""

from __future__ import annotations

import logging

log = logging.getLogger("babelcast.redis")


class Health:
    """One component's view of Redis at ``url``."""

    def __init__(self, url: str, *, when_down: str = "degraded, retrying",
                 when_back: str = "", logger: logging.Logger = log) -> None:
        self.url = url
        self.when_down = when_down
        self.when_back = when_back
        self.degraded = False  # the last call failed; no call has succeeded since
        self.failures = 0      # failed calls, in all
        self.outages = 0       # transitions to degraded, in all
        self._log = logger

    def failed(self, what: str, exc: BaseException) -> bool:
        """Record a failed call (``what``: during which operation); logs the first failure
        of an outage only. Returns whether this call started an outage."""
        self.failures += 1
        if self.degraded:
            return False
        self.degraded = True
        self.outages += 1
        self._log.warning("Redis at %s failed during %s (%s); %s", self.url, what, exc,
                          self.when_down)
        return True

    def answered(self) -> bool:
        """Record a call that succeeded; logs the end of an outage. Returns whether this call
        ended one."""
        if not self.degraded:
            return False
        self.degraded = False
        if self.when_back:
            self._log.warning("Redis at %s is back; %s", self.url, self.when_back)
        else:
            self._log.warning("Redis at %s is back", self.url)
        return True
