"""The ``Presence`` seam: how many viewers read each language in a room.

The pipeline translates a comment into the languages present; rooms and the REST API report
the counts. ``MemoryPresence`` counts this process's viewers; ``RedisPresence`` sums every
node's, each node's share expiring unless that node keeps refreshing it."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Presence(ABC):
    """Viewers per language, per room."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Start background work (refreshing this node's share, for Redis)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Withdraw this node's viewers and stop background work."""

    @abstractmethod
    async def add_viewer(self, room: str, lang: str) -> None:
        """Count one more viewer reading ``lang`` in ``room``."""

    @abstractmethod
    async def remove_viewer(self, room: str, lang: str) -> None:
        """Count one viewer fewer."""

    @abstractmethod
    async def viewers(self, room: str) -> dict[str, int]:
        """Viewers per language in ``room`` (languages with none left out)."""
