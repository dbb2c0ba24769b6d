"""What the rooms layer counts and reports: fan-out totals of this node, the counters of its
closed connections, and the observer told about each room event (``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class FanoutObserver(Protocol):
    """Told about each room event fanned out on this node; must not block."""

    def room_event(self, event: object, frames: int, seconds: float) -> None:
        """``event`` went out to local viewers in ``frames`` frames in ``seconds``."""

    def held_released(self, frames: int, published_ts: float) -> None:
        """A comment held back from a language group for its translation went out to it in
        ``frames`` frames (with its translation, or pending when the wait ran out);
        ``published_ts`` is the wall clock at its publication."""


@dataclass
class ClosedConnections:
    """Frame counters of the connections that have closed (the open ones keep their own)."""

    frames_dropped: int = 0
    frames_direct: int = 0


@dataclass(frozen=True)
class FanoutTotals:
    """Connection and frame counters of this node: closed connections' plus the open ones'."""

    rooms: int
    connections: int
    queued_frames: int
    frames_dropped: int
    frames_direct: int
    frames_joined: int  # direct frames that shared a write with an earlier one
