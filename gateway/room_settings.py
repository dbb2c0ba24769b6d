"""Per-room settings: the glossary a room uses and the languages its comments are written in.

In memory for one process; a shared backend implements the same interface so every node
sees a change at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoomSettings:
    """``glossary``: name of the glossary applied to the room's translations (None: none).
    ``languages``: the languages comments may be in, narrowing language ID (empty: any)."""

    glossary: str | None = None
    languages: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"glossary": self.glossary, "languages": list(self.languages)}


class RoomSettingsStore:
    """Settings of every room; rooms never configured have the defaults."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomSettings] = {}

    async def start(self) -> None:
        """Nothing to connect to (a shared store connects here)."""

    async def close(self) -> None:
        """Nothing to release."""

    async def get(self, room: str) -> RoomSettings:
        return self._rooms.get(room) or RoomSettings()

    async def put(self, room: str, settings: RoomSettings) -> None:
        if settings == RoomSettings():
            self._rooms.pop(room, None)
        else:
            self._rooms[room] = settings
