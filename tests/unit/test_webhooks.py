"""Webhooks with fakes: endpoint validation, the delivery queue over httpx's MockTransport
(signatures, retries, dead letters, a full queue), the per-room order of the dispatcher, and
what the pipeline tells its event sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from babelcast.gateway.bus.memory import MemoryBus, MemoryPresence
from babelcast.gateway.chat.moderation import CommentRefused
from babelcast.gateway.chat.pipeline import CommentPipeline
from babelcast.gateway.chat.tracking import TranslationTracker
from babelcast.gateway.events import ChatMessage
from babelcast.gateway.settings import Settings, SettingsError
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.stores.memory import MemoryGlossaryStore, MemoryRoomSettingsStore
from babelcast.gateway.webhooks.delivery import DeliveryPolicy
from babelcast.gateway.webhooks.dispatcher import WebhookDispatcher
from babelcast.gateway.webhooks.endpoints import (
    EVENT_TYPES,
    Endpoint,
    EndpointError,
    load_endpoints,
    new_secret,
    parse_endpoint,
)
from babelcast.translation import Translation
from tests.unit.test_pipeline import FakeDetector, FakeTranslator

pytestmark = pytest.mark.unit

SECRET = new_secret()
FAST = DeliveryPolicy(attempt_timeout_s=1.0, first_retry_s=0.001, max_delay_s=0.01,
                      retry_for_s=5.0)


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())


# Endpoints


def test_an_endpoint_is_parsed_with_defaults() -> None:
    endpoint = parse_endpoint({"url": "https://shop.example/h", "secret": SECRET})
    assert endpoint.events == frozenset(EVENT_TYPES) and endpoint.id.startswith("ep_")
    made = parse_endpoint({"url": "http://127.0.0.1:9/h", "events": ["user.muted"]},
                          make_secret=True)
    assert made.secret.startswith("whsec_") and made.events == {"user.muted"}
    Webhook(made.secret)  # the library accepts the secret it was given


@pytest.mark.parametrize(("data", "problem"), [
    ({"secret": SECRET}, "url is missing"),
    ({"url": "shop.example/h", "secret": SECRET}, "http:// or https://"),
    ({"url": "https://shop.example:99999/h", "secret": SECRET}, "not a valid URL"),
    ({"url": "https://shop.example/h"}, "secret must be a string starting with 'whsec_'"),
    ({"url": "https://shop.example/h", "secret": "whsec_!!!"}, "not valid base64"),
    ({"url": "https://shop.example/h", "secret": "whsec_c2hvcnQ="}, "is 5 bytes"),
    ({"url": "https://shop.example/h", "secret": SECRET, "events": []}, "non-empty list"),
    ({"url": "https://shop.example/h", "secret": SECRET, "events": ["room.opened"]},
     "unknown event type(s) room.opened"),
    ({"url": "https://shop.example/h", "secret": SECRET, "id": "a b"}, "id must be"),
    ({"url": "https://shop.example/h", "secret": SECRET, "retries": 3}, "unknown field"),
    (["https://shop.example/h"], "must be an object"),
])
def test_a_bad_endpoint_gets_a_clear_error(data: Any, problem: str) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(data)
    assert problem in str(info.value)


def test_the_endpoints_file_is_toml_or_json(tmp_path: Path) -> None:
    toml = tmp_path / "hooks.toml"
    toml.write_text(f'[[endpoints]]\nid = "a"\nurl = "https://a.example/h"\nsecret = "{SECRET}"\n'
                    f'events = ["comment.published"]\n')
    assert [(e.id, e.events) for e in load_endpoints(toml)] == [("a", {"comment.published"})]
    js = tmp_path / "hooks.json"
    js.write_text(json.dumps({"endpoints": [{"url": "https://b.example/h", "secret": SECRET}]}))
    assert [e.url for e in load_endpoints(js)] == ["https://b.example/h"]


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("h.toml", "[[endpoints]\n", "is not valid TOML"),
    ("h.json", "{", "is not valid JSON"),
    ("h.yaml", "", "must end in .toml or .json"),
    ("h.json", '{"hooks": []}', "must have a list 'endpoints'"),
    ("h.json", json.dumps({"endpoints": [{"url": "https://x.example", "secret": SECRET,
                                          "id": "x"}] * 2}), "two endpoints have the id 'x'"),
    ("h.json", json.dumps({"endpoints": [{"url": "x"}]}), "endpoint 1: url 'x' must be"),
])
def test_a_bad_endpoints_file_gets_a_clear_error(tmp_path: Path, name: str, text: str,
                                                 problem: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EndpointError) as info:
        load_endpoints(path)
    assert problem in str(info.value) and str(path) in str(info.value)
    with pytest.raises(SettingsError) as bad:
        Settings(webhooks=str(path))
    assert problem in str(bad.value)


def test_a_missing_endpoints_file_is_refused_by_settings(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read webhooks file"):
        Settings(webhooks=str(tmp_path / "nope.toml"))


# Delivery


class FakeEndpoint:
    """Answers with the statuses of ``statuses`` in turn (then 200), recording requests."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


def message(room: str, msg_id: int, text: str, **kw: Any) -> ChatMessage:
    return ChatMessage(id=msg_id, room=room, user="Ana", user_id="u1", text=text,
                       src_lang="pt", ts=1.0, epoch="e1", **kw)


async def dispatcher(handler: Callable[[httpx.Request], httpx.Response], *endpoints: Endpoint,
                     policy: DeliveryPolicy = FAST, wait_s: float = 2.0) -> WebhookDispatcher:
    hooks = WebhookDispatcher(policy=policy, translation_wait_s=wait_s,
                              transport=httpx.MockTransport(handler))
    await hooks.start(endpoints or [Endpoint("a", "http://a.example/h", SECRET,
                                             frozenset(EVENT_TYPES))])
    return hooks


def test_deliveries_are_signed_for_the_standard_webhooks_library() -> None:
    async def go() -> None:
        fake = FakeEndpoint()
        hooks = await dispatcher(fake)
        hooks.user_muted("r", "u2", "host")
        await hooks.idle()
        await hooks.close()
        (request,) = fake.requests
        payload = Webhook(SECRET).verify(request.content, dict(request.headers))
        assert payload["type"] == "user.muted"
        assert payload["data"] == {"room": "r", "user_id": "u2", "by_user_id": "host"}
        with pytest.raises(Exception, match="signature"):
            Webhook(new_secret()).verify(request.content, dict(request.headers))

    run(go)


def test_a_failure_is_retried_with_the_same_id_until_delivered() -> None:
    async def go() -> None:
        fake = FakeEndpoint(500, 503)
        hooks = await dispatcher(fake)
        hooks.comment_deleted("r", 7, "host")
        await hooks.idle()
        await hooks.close()
        assert len(fake.requests) == 3
        assert len({r.headers["webhook-id"] for r in fake.requests}) == 1
        (record,) = hooks.deliveries.recent
        assert record.status == "delivered" and record.attempts == 3
        assert record.response_status == 200 and record.error is None

    run(go)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = DeliveryPolicy(first_retry_s=1, max_delay_s=60)
    assert [policy.delay(n) for n in (1, 2, 3, 7, 20)] == [1, 2, 4, 60, 60]


def test_an_event_out_of_retry_time_is_dead_lettered_and_the_next_goes_on() -> None:
    async def go() -> None:
        fake = FakeEndpoint(*[500] * 50)
        policy = DeliveryPolicy(first_retry_s=0.001, max_delay_s=0.002, retry_for_s=0.05)
        hooks = await dispatcher(fake, policy=policy)
        hooks.comment_deleted("r", 1, "host")
        await hooks.idle()
        fake.statuses.clear()
        hooks.comment_deleted("r", 2, "host")
        await hooks.idle()
        await hooks.close()
        view = hooks.deliveries_json()
        (dead,) = view["dead_letters"]
        assert dead["status"] == "dead" and dead["error"] == "HTTP 500" and dead["attempts"] > 1
        assert json.loads(dead["payload"])["data"]["message_id"] == "1"
        assert [r["status"] for r in view["recent"]] == ["delivered", "dead"]  # newest first
        assert view["delivered_total"] == 1 and view["dead_total"] == 1

    run(go)


def test_a_full_queue_dead_letters_its_oldest_events() -> None:
    async def go() -> None:
        fake = FakeEndpoint()
        hooks = await dispatcher(fake, policy=DeliveryPolicy(queue_size=2))
        for i in range(4):  # queued at once, before the delivery task runs
            hooks.comment_deleted("r", i, "host")
        await hooks.idle()
        await hooks.close()
        assert [b["data"]["message_id"] for b in fake.bodies()] == ["2", "3"]
        dead = [json.loads(r.event.body)["data"]["message_id"] for r in hooks.deliveries.dead]
        assert dead == ["0", "1"]
        assert all("queue full" in (r.error or "") for r in hooks.deliveries.dead)

    run(go)


# Dispatcher


def test_a_comment_waits_for_its_translations_and_its_room_waits_behind_it() -> None:
    async def go() -> None:
        fake = FakeEndpoint()
        hooks = await dispatcher(fake)
        pending: asyncio.Future[Translation] = asyncio.get_running_loop().create_future()
        first = message("r", 1, "tem frete?", question=True,
                        translations={"es": Translation("es", "¿envío?", True)})
        hooks.comment_published(first, {"en": pending})
        hooks.comment_deleted("r", 9, "host")  # later in the same room: waits behind
        hooks.comment_deleted("other", 3, "host")  # another room: goes at once
        await hooks.workers["a"].idle()
        assert [b["data"]["room"] for b in fake.bodies()] == ["other"]
        pending.set_result(Translation("en", "free shipping?", True))
        await hooks.idle()
        await hooks.close()
        types = [b["type"] for b in fake.bodies()]
        assert types == ["comment.deleted", "comment.published", "question.asked",
                         "comment.deleted"]
        data = fake.bodies()[1]["data"]
        assert data["message_id"] == "1" and data["pending"] == []
        assert data["translations"] == {"en": {"text": "free shipping?", "translated": True},
                                        "es": {"text": "¿envío?", "translated": True}}

    run(go)


def test_a_translation_that_does_not_land_in_time_is_listed_as_pending() -> None:
    async def go() -> None:
        fake = FakeEndpoint()
        hooks = await dispatcher(fake, wait_s=0.01)
        never: asyncio.Future[Translation] = asyncio.get_running_loop().create_future()
        hooks.comment_published(message("r", 1, "oi"), {"ko": never})
        await hooks.idle()
        await hooks.close()
        (body,) = fake.bodies()
        assert body["data"]["pending"] == ["ko"] and body["data"]["translations"] == {}
        assert not never.cancelled()  # the sink never cancels the chat's translations

    run(go)


def test_endpoints_get_only_the_event_types_they_asked_for() -> None:
    async def go() -> None:
        fake = FakeEndpoint()
        muted_only = Endpoint("m", "http://m.example/h", SECRET, frozenset({"user.muted"}))
        hooks = await dispatcher(fake, muted_only)
        hooks.comment_published(message("r", 1, "oi"), {})
        hooks.comment_blocked("r", "Ana", "u1", "bad", "pt", via_translation=False)
        hooks.user_muted("r", "u1", "host")
        assert hooks._tails == {}  # nothing waits for the events nobody wants
        await hooks.idle()
        await hooks.close()
        assert [b["type"] for b in fake.bodies()] == ["user.muted"]

    run(go)


# The pipeline tells its sink


class RecordingSink:
    def __init__(self) -> None:
        self.published: list[tuple[ChatMessage, dict[str, Any]]] = []
        self.blocked: list[dict[str, Any]] = []

    def comment_published(self, msg: ChatMessage, pending: Any) -> None:
        self.published.append((msg, dict(pending)))

    def comment_blocked(self, room: str, user: str, user_id: str, text: str, src_lang: str,
                        *, via_translation: bool, message_id: int | None = None) -> None:
        self.blocked.append({"room": room, "text": text, "via": via_translation,
                             "message_id": message_id})

    def comment_deleted(self, room: str, message_id: int, by_user_id: str) -> None:
        raise AssertionError("not expected")

    def user_muted(self, room: str, user_id: str, by_user_id: str) -> None:
        raise AssertionError("not expected")


def test_the_pipeline_tells_its_sink_about_published_and_blocked_comments() -> None:
    async def go() -> None:
        bus, presence, translator = MemoryBus(), MemoryPresence(), FakeTranslator()
        settings, glossaries = MemoryRoomSettingsStore(), MemoryGlossaryStore()
        tracker = TranslationTracker(translator, bus, glossaries, settings)
        sink = RecordingSink()
        pipeline = CommentPipeline(FakeDetector("pt"), translator, bus, presence, glossaries,
                                   settings, tracker, wait_s=0.25, events=sink)
        await presence.add_viewer("r", "en")
        await settings.put("r", RoomSettings(blocklist=("proibido",), moderation_lang="pt"))
        msg = await pipeline.submit("r", "Ana", "u1", "pt", "oi gente")
        ((published, pending),) = sink.published
        assert published is msg and set(pending) == {"en"}
        assert (await pending["en"]).text == "[en] oi gente"
        with pytest.raises(CommentRefused):
            await pipeline.submit("r", "Ana", "u1", "pt", "isso é proibido")
        assert sink.blocked == [{"room": "r", "text": "isso é proibido", "via": False,
                                 "message_id": None}]
        await pipeline.close()
        await tracker.close()

    run(go)
