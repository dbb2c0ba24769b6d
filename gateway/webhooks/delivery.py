"""Delivery to one endpoint: its own bounded queue and one task, at least once, in order.

The task posts the oldest queued event, signed (Standard Webhooks headers ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), with a deadline per attempt. A 2xx delivers it;
anything else (an error status, a refused connection, a timeout) is tried again after an
exponentially growing delay until ``retry_for_s`` has passed since the first attempt; then the
event goes to the dead-letter list and the next one is tried. Events behind it wait, so an
endpoint that was down gets every event afterwards in the order they happened. Nothing here
runs on the comment's path: the chat only appends to the queue."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from babelcast.gateway.webhooks.endpoints import Endpoint
from babelcast.gateway.webhooks.payloads import WebhookEvent

log = logging.getLogger("babelcast.webhooks")

USER_AGENT = "babelcast-webhooks/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard delivery tries: each attempt's deadline, the first retry's delay (doubled
    after each failure, at most ``max_delay_s``), how long an event is retried before it is
    dead-lettered, and how many events one endpoint may have queued (beyond, the oldest is
    dead-lettered)."""

    attempt_timeout_s: float = 10.0
    first_retry_s: float = 1.0
    max_delay_s: float = 3600.0
    retry_for_s: float = 6 * 3600.0
    queue_size: int = 10_000

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failed attempt (1, 2, ...)."""
        return min(self.max_delay_s, self.first_retry_s * 2 ** (failures - 1))


@dataclass
class DeliveryRecord:
    """One event's delivery to one endpoint, as ``GET /v1/webhooks/deliveries`` shows it."""

    event: WebhookEvent
    endpoint_id: str
    status: str = "queued"  # queued, retrying, delivered, dead
    attempts: int = 0
    first_attempt_at: float | None = None
    last_attempt_at: float | None = None
    next_attempt_at: float | None = None
    response_status: int | None = None
    error: str | None = None

    def to_json(self, with_payload: bool = False) -> dict[str, Any]:
        """The record; ``with_payload`` adds the event's JSON (dead letters keep it)."""
        out: dict[str, Any] = {**self.event.summary(), "endpoint_id": self.endpoint_id,
                               "status": self.status, "attempts": self.attempts,
                               "first_attempt_at": self.first_attempt_at,
                               "last_attempt_at": self.last_attempt_at,
                               "next_attempt_at": self.next_attempt_at,
                               "response_status": self.response_status, "error": self.error}
        if with_payload:
            out["payload"] = self.event.body.decode()
        return out


@dataclass
class DeliveryLog:
    """Recent finished deliveries and the dead letters, bounded, in memory (newest last)."""

    recent_size: int = 500
    dead_size: int = 1000
    recent: collections.deque[DeliveryRecord] = field(init=False)
    dead: collections.deque[DeliveryRecord] = field(init=False)
    delivered_total: int = 0
    dead_total: int = 0

    def __post_init__(self) -> None:
        self.recent = collections.deque(maxlen=self.recent_size)
        self.dead = collections.deque(maxlen=self.dead_size)

    def finished(self, record: DeliveryRecord) -> None:
        """Keep ``record`` (delivered or dead) among the recent ones, and the dead letters."""
        self.recent.append(record)
        if record.status == "dead":
            self.dead.append(record)
            self.dead_total += 1
        else:
            self.delivered_total += 1


class EndpointWorker:
    """The queue of one endpoint and the task that delivers it."""

    def __init__(self, endpoint: Endpoint, client: httpx.AsyncClient, policy: DeliveryPolicy,
                 deliveries: DeliveryLog) -> None:
        self.endpoint = endpoint
        self.client = client
        self.policy = policy
        self.deliveries = deliveries
        self.signer = Webhook(endpoint.secret)
        self.queue: collections.deque[DeliveryRecord] = collections.deque()
        self.current: DeliveryRecord | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering (on the running loop)."""
        self._task = asyncio.create_task(self._run(), name=f"webhooks {self.endpoint.id}")

    def enqueue(self, event: WebhookEvent) -> None:
        """Queue ``event`` (never blocks); when the queue is full, the oldest queued event is
        dead-lettered to make room."""
        if len(self.queue) >= self.policy.queue_size:
            dropped = self.queue.popleft()
            dropped.status, dropped.error = "dead", "queue full: the endpoint fell too far behind"
            self.deliveries.finished(dropped)
            log.warning("webhook endpoint %s: queue full, event %s dead-lettered",
                        self.endpoint.id, dropped.event.id)
        self.queue.append(DeliveryRecord(event, self.endpoint.id))
        self._idle.clear()
        self._wake.set()

    async def idle(self) -> None:
        """Wait until every queued event has been delivered or dead-lettered."""
        await self._idle.wait()

    async def close(self) -> int:
        """Stop delivering; returns how many events were still undelivered (lost: the queue
        is in memory)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return len(self.queue) + (self.current is not None)

    async def _run(self) -> None:
        while True:
            if not self.queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            record = self.current = self.queue.popleft()
            try:
                await self._deliver(record)
            except Exception as exc:  # a bug must cost this event, not the endpoint's queue
                log.exception("webhook %s to endpoint %s failed", record.event.id,
                              self.endpoint.id)
                record.status, record.error = "dead", f"internal error: {type(exc).__name__}"
            self.current = None
            self.deliveries.finished(record)

    async def _deliver(self, record: DeliveryRecord) -> None:
        """Try ``record`` until delivered or out of time."""
        failures = 0
        while True:
            now = time.time()
            if record.first_attempt_at is None:
                record.first_attempt_at = now
            record.attempts += 1
            record.last_attempt_at = now
            record.next_attempt_at = None
            error = await self._attempt(record)
            if error is None:
                record.status, record.error = "delivered", None
                return
            failures += 1
            record.error = error
            delay = self.policy.delay(failures)
            if time.time() + delay - record.first_attempt_at > self.policy.retry_for_s:
                record.status = "dead"
                log.warning("webhook %s to endpoint %s dead-lettered after %d attempts: %s",
                            record.event.id, self.endpoint.id, record.attempts, error)
                return
            record.status, record.next_attempt_at = "retrying", time.time() + delay
            await asyncio.sleep(delay)

    async def _attempt(self, record: DeliveryRecord) -> str | None:
        """One signed POST; None when the endpoint took it (2xx), else what went wrong."""
        event = record.event
        now = datetime.now(timezone.utc)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event.id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(event.id, now, event.body),
        }
        try:
            response = await asyncio.wait_for(
                self.client.post(self.endpoint.url, content=event.body, headers=headers),
                self.policy.attempt_timeout_s)
        except asyncio.TimeoutError:
            record.response_status = None
            return f"no answer within {self.policy.attempt_timeout_s:g} s"
        except httpx.HTTPError as exc:
            record.response_status = None
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record.response_status = response.status_code
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    def to_json(self) -> dict[str, Any]:
        """The endpoint's queue now."""
        return {"endpoint_id": self.endpoint.id, "queued": len(self.queue),
                "current": None if self.current is None else self.current.to_json()}
