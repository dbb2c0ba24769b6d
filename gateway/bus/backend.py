"""``RoomBackend``: the bus, presence and room state of one backend, built together.

The three share their storage (and, for Redis, one connection and its health), so they are
made by one function per backend (``memory_backend``, ``redis_backend``), started and closed
in one order, and handed out separately: each consumer gets only the seam it uses."""

from __future__ import annotations

from dataclasses import dataclass

from babelcast.gateway.bus.base import Bus
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.bus.state import RoomState


@dataclass(frozen=True)
class RoomBackend:
    """One backend's implementations of the three room seams."""

    bus: Bus
    presence: Presence
    state: RoomState

    async def start(self) -> None:
        """Connect the bus, then start presence (which uses the bus' connection)."""
        await self.bus.start()
        await self.presence.start()

    async def close(self) -> None:
        """Withdraw presence, then close the bus (and its connection)."""
        await self.presence.close()
        await self.bus.close()
