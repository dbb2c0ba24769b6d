"""One snapshot of this process's counters, built in one place (``take_snapshot``) and
rendered twice: as JSON by ``GET /v1/stats`` and as Prometheus metrics by ``GET /metrics``.

Each counter lives with the part that counts it (the session's refused frames, the rooms' frame
counters, the watchdog's closes, admission's refusals, moderation's outcomes); the snapshot
only reads them, when asked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from babelcast.gateway.bus.base import Bus
from babelcast.gateway.chat.moderation import ModerationStats
from babelcast.gateway.chat.reactions import ReactionStats
from babelcast.gateway.limits.admission import ConnectionAdmission
from babelcast.gateway.rooms.room import RoomRegistry
from babelcast.gateway.rooms.watchdog import StallWatchdog
from babelcast.gateway.web.request_deadline import HandshakeGuard
from babelcast.gateway.web.session import SessionCounters
from babelcast.translation import Translator


@dataclass(frozen=True)
class ViewerSources:
    """The parts of a process that serves viewers whose counters the snapshot reads."""

    bus: Bus
    rooms: RoomRegistry
    watchdog: StallWatchdog
    sessions: SessionCounters
    admission: ConnectionAdmission
    moderation: ModerationStats
    reactions: ReactionStats | None = None


@dataclass(frozen=True)
class StatsSources:
    """Where a snapshot's numbers come from; ``viewers`` is None while the process is not
    serving viewers (starting, stopped, or a translator)."""

    role: str
    viewers: ViewerSources | None = None
    translator: Translator | None = None
    worker_stats: Callable[[], dict[str, int]] | None = None  # a translator's job worker
    handshake_guard: HandshakeGuard | None = None  # the HTTP request deadline


@dataclass(frozen=True)
class ViewerStats:
    """The counters of the viewer-serving side."""

    degraded: bool  # the shared bus (Redis) is failing
    rooms: int
    connections: int
    queued_frames: int
    frames_dropped: int
    frames_direct: int
    frames_joined: int
    slow_consumers_closed: int
    bad_frames: int
    rate_limited: int
    handshakes_refused: int
    moderation: dict[str, int]
    reactions: dict[str, int] | None = None


@dataclass(frozen=True)
class StatsSnapshot:
    """Every counter of this process at one moment."""

    role: str
    viewers: ViewerStats | None
    translation: dict[str, Any] | None  # the translator's own snapshot
    translator_worker: dict[str, int] | None
    handshakes_timed_out: int = 0  # connections closed for not sending a request in time

    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /v1/stats``."""
        out: dict[str, Any] = {"role": self.role}
        v = self.viewers
        if v is not None:
            out.update({
                "degraded": v.degraded,
                "rooms": v.rooms,
                "connections": v.connections,
                "frames_dropped": v.frames_dropped,
                "frames_direct": v.frames_direct,
                "frames_joined": v.frames_joined,
                "slow_consumers_closed": v.slow_consumers_closed,
                "bad_frames": v.bad_frames,
                "rate_limited": v.rate_limited,
                "handshakes_refused": v.handshakes_refused,
                "moderation": v.moderation,
            })
            if v.reactions is not None:
                out["reactions"] = v.reactions
        out["handshakes_timed_out"] = self.handshakes_timed_out
        out["translation"] = self.translation
        if self.translator_worker is not None:
            out["translator_worker"] = self.translator_worker
        return out


def take_snapshot(sources: StatsSources) -> StatsSnapshot:
    """Read every counter ``sources`` name, now."""
    viewers = None
    v = sources.viewers
    if v is not None:
        totals = v.rooms.totals()
        viewers = ViewerStats(
            degraded=v.bus.degraded, rooms=totals.rooms, connections=totals.connections,
            queued_frames=totals.queued_frames, frames_dropped=totals.frames_dropped,
            frames_direct=totals.frames_direct, frames_joined=totals.frames_joined,
            slow_consumers_closed=v.watchdog.closed_count, bad_frames=v.sessions.bad_frames,
            rate_limited=v.sessions.rate_limited, handshakes_refused=v.admission.refused,
            moderation=v.moderation.to_json(),
            reactions=None if v.reactions is None else v.reactions.to_json())
    return StatsSnapshot(
        role=sources.role, viewers=viewers,
        translation=sources.translator.snapshot() if sources.translator is not None else None,
        translator_worker=sources.worker_stats() if sources.worker_stats is not None else None,
        handshakes_timed_out=(sources.handshake_guard.timed_out
                              if sources.handshake_guard is not None else 0))
