"""The chat's event sink for webhooks: turns each chat event into a webhook event, in the
order the events happened in its room, and queues it for every endpoint that wants its type.

A published comment is sent with every translation made so far: its event waits until the
translations started for it have landed, or ``translation_wait_s`` has passed, and the events
of its room after it wait behind it (so an endpoint sees a room's events in order). All of this
runs in tasks beside the chat; the sink's methods only create them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from babelcast.gateway.events import ChatMessage
from babelcast.gateway.webhooks import payloads
from babelcast.gateway.webhooks.delivery import DeliveryLog, DeliveryPolicy, EndpointWorker
from babelcast.gateway.webhooks.endpoints import (
    COMMENT_BLOCKED,
    COMMENT_DELETED,
    COMMENT_PUBLISHED,
    MAX_ENDPOINTS,
    QUESTION_ASKED,
    USER_MUTED,
    Endpoint,
    EndpointError,
    EndpointExists,
)
from babelcast.translation import Translation

log = logging.getLogger("babelcast.webhooks")

_Build = Callable[[], list[payloads.WebhookEvent]]


class WebhookDispatcher:
    """Endpoints (their queues and delivery tasks), the delivery log, and the per-room order
    of events. Implements ``chat.sink.ChatEventSink``."""

    def __init__(self, *, policy: DeliveryPolicy | None = None, translation_wait_s: float = 6.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``translation_wait_s``: how long a comment's event waits for its translations;
        ``transport`` replaces httpx's network transport (tests)."""
        self.policy = policy or DeliveryPolicy()
        self.translation_wait_s = translation_wait_s
        self.deliveries = DeliveryLog()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.workers: dict[str, EndpointWorker] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}  # the last pending event of each room

    async def start(self, endpoints: Iterable[Endpoint] = ()) -> None:
        """Open the HTTP client and start delivering to ``endpoints`` (each in its own
        task)."""
        self._client = httpx.AsyncClient(
            transport=self._transport, follow_redirects=False,
            timeout=httpx.Timeout(self.policy.attempt_timeout_s))
        for endpoint in endpoints:
            self.add(endpoint)

    def endpoints(self) -> list[Endpoint]:
        """The endpoints now, in the order they were added."""
        return [w.endpoint for w in self.workers.values()]

    def add(self, endpoint: Endpoint) -> None:
        """Start delivering to ``endpoint``; ``EndpointError`` if its id is taken or there
        are too many."""
        assert self._client is not None, "start() first"
        if endpoint.id in self.workers:
            raise EndpointExists(f"an endpoint with id {endpoint.id!r} exists already")
        if len(self.workers) >= MAX_ENDPOINTS:
            raise EndpointError(f"at most {MAX_ENDPOINTS} endpoints")
        worker = EndpointWorker(endpoint, self._client, self.policy, self.deliveries)
        self.workers[endpoint.id] = worker
        worker.start()

    async def remove(self, endpoint_id: str) -> bool:
        """Stop delivering to an endpoint (its queued events are dropped); False if unknown."""
        worker = self.workers.pop(endpoint_id, None)
        if worker is None:
            return False
        lost = await worker.close()
        if lost:
            log.info("webhook endpoint %s removed with %d events undelivered", endpoint_id, lost)
        return True

    async def idle(self) -> None:
        """Wait until every event so far is queued and every queue delivered or
        dead-lettered (tests, and a graceful stop)."""
        while self._tails:
            await asyncio.gather(*self._tails.values(), return_exceptions=True)
        for worker in list(self.workers.values()):
            await worker.idle()

    async def close(self) -> None:
        """Stop every delivery task and close the HTTP client; undelivered events are lost
        (the queue is in memory) and counted in the log."""
        for task in self._tails.values():
            task.cancel()
        await asyncio.gather(*self._tails.values(), return_exceptions=True)
        lost = 0
        for worker in self.workers.values():
            lost += await worker.close()
        if lost:
            log.warning("webhooks: %d events undelivered at shutdown", lost)
        if self._client is not None:
            await self._client.aclose()

    def _wanted(self, *types: str) -> bool:
        return any(w.endpoint.wants(t) for w in self.workers.values() for t in types)

    def _in_order(self, room: str, ready: Awaitable[object] | None, build: _Build) -> None:
        """Queue the events ``build`` makes once ``ready`` is done and every earlier event of
        ``room`` has been queued."""
        previous = self._tails.get(room)
        if ready is None and previous is None:
            self._enqueue(build())  # nothing to wait for: queued before the caller goes on
            return

        async def release() -> None:
            if ready is not None:
                await ready
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            self._enqueue(build())

        task = asyncio.create_task(release())
        self._tails[room] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._tails.get(room) is t:
                del self._tails[room]
            if not t.cancelled() and t.exception() is not None:
                log.error("webhook event of room %s failed", room, exc_info=t.exception())

        task.add_done_callback(done)

    def _enqueue(self, events: list[payloads.WebhookEvent]) -> None:
        for event in events:
            for worker in list(self.workers.values()):
                if worker.endpoint.wants(event.type):
                    worker.enqueue(event)

    # ChatEventSink

    def comment_published(self, msg: ChatMessage,
                          pending: Mapping[str, asyncio.Future[Translation]]) -> None:
        """Queue ``comment.published`` (and ``question.asked`` for a question) once the
        translations in ``pending`` have landed or ``translation_wait_s`` has passed."""
        if not self._wanted(COMMENT_PUBLISHED, QUESTION_ASKED):
            return
        ready = dict(msg.translations)
        waiting = dict(pending)

        async def translations_landed() -> None:
            if waiting:
                await asyncio.wait(waiting.values(), timeout=self.translation_wait_s)

        def build() -> list[payloads.WebhookEvent]:
            translations = dict(ready)
            for lang, future in waiting.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    translations[lang] = future.result()
            late = tuple(lang for lang in waiting if lang not in translations)
            data = payloads.comment_data(msg, translations, late)
            events = [payloads.make_event(COMMENT_PUBLISHED, msg.room, data)]
            if msg.question:
                events.append(payloads.make_event(QUESTION_ASKED, msg.room, data))
            return events

        self._in_order(msg.room, translations_landed(), build)

    def _simple(self, event_type: str, room: str, data: dict[str, Any]) -> None:
        if self._wanted(event_type):
            self._in_order(room, None, lambda: [payloads.make_event(event_type, room, data)])

    def comment_blocked(self, room: str, user: str, user_id: str, text: str, src_lang: str,
                        *, via_translation: bool, message_id: int | None = None) -> None:
        """Queue ``comment.blocked``."""
        self._simple(COMMENT_BLOCKED, room, payloads.blocked_data(
            room, user, user_id, text, src_lang, via_translation=via_translation,
            message_id=message_id))

    def comment_deleted(self, room: str, message_id: int, by_user_id: str) -> None:
        """Queue ``comment.deleted``."""
        self._simple(COMMENT_DELETED, room, payloads.deleted_data(room, message_id, by_user_id))

    def user_muted(self, room: str, user_id: str, by_user_id: str) -> None:
        """Queue ``user.muted``."""
        self._simple(USER_MUTED, room, payloads.muted_data(room, user_id, by_user_id))

    def deliveries_json(self, endpoint_id: str | None = None, limit: int = 100) -> dict[str, Any]:
        """``GET /v1/webhooks/deliveries``: each endpoint's queue, the recent finished
        deliveries and the dead letters (newest first, at most ``limit`` each)."""

        def pick(records: Iterable[Any]) -> list[Any]:
            chosen = [r for r in records if endpoint_id is None or r.endpoint_id == endpoint_id]
            return chosen[::-1][:limit]

        log_ = self.deliveries
        return {
            "endpoints": [w.to_json() for w in self.workers.values()
                          if endpoint_id is None or w.endpoint.id == endpoint_id],
            "delivered_total": log_.delivered_total, "dead_total": log_.dead_total,
            "recent": [r.to_json() for r in pick(log_.recent)],
            "dead_letters": [r.to_json(with_payload=True) for r in pick(log_.dead)],
        }
