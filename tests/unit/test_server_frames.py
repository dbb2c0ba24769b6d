"""Server frames exactly as docs/protocol.md shows them: field names, values and order, as
JSON text on the wire (clients and the live tests depend on these bytes)."""

from __future__ import annotations

import msgpack

from babelcast.gateway.events import ChatMessage
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.gateway.wire.server import (
    ack_frame,
    action_ack_frame,
    comment_frame,
    deleted_frame,
    error_frame,
    lang_changed_frame,
    pinned_frame,
    pong_frame,
    presence_frame,
    translation_frame,
    welcome_frame,
)
from babelcast.translation.engine import Translation


def text(frame: dict) -> str | bytes:
    return Codec.JSON.encode(frame)


def message(message_id: int = 17, **kw: object) -> ChatMessage:
    fields: dict = dict(id=message_id, room="demo", user="Ana", user_id="u-5c019e0f",
                        text="tem frete grátis?", src_lang="pt", ts=1795416219.705)
    return ChatMessage(**(fields | kw))


def test_welcome() -> None:
    frame = welcome_frame(room="demo", epoch="9f2c01ab", user_id="u-5c019e0f", name="Ana",
                          lang="pt", role="viewer", history=[], gap=False, pinned=None,
                          viewers={"en": 3, "pt": 2}, max_text_chars=500,
                          max_frame_bytes=8192, rate_limit_per_s=2.0, rate_limit_burst=8)
    assert text(frame) == (
        '{"type":"welcome","protocol":1,"room":"demo","epoch":"9f2c01ab",'
        '"you":{"user_id":"u-5c019e0f","name":"Ana","lang":"pt","role":"viewer"},'
        '"history":[],"gap":false,"pinned":null,'
        '"presence":{"viewers":{"en":3,"pt":2},"total":5},'
        '"limits":{"max_text_chars":500,"max_frame_bytes":8192,"rate_limit_per_s":2.0,'
        '"rate_limit_burst":8},"reactions":[]}')


def test_comment_translated_and_the_translation_that_completes_one() -> None:
    t = Translation("en", "have free shipping?", True)
    msg = message(translations={"en": t}, question=True)
    assert text(comment_frame(msg, "en", votes=0)) == (
        '{"type":"comment","id":"17","user":"Ana","user_id":"u-5c019e0f","src_lang":"pt",'
        '"lang":"en","ts":1795416219.705,"original":"tem frete grátis?","glossary_hits":[],'
        '"question":true,"votes":0,"text":"have free shipping?","translated":true,"pending":false,'
        '"reason":null}')
    assert "votes" not in comment_frame(msg, "en")  # a count the caller did not read
    assert text(translation_frame(17, t)) == (
        '{"type":"translation","id":"17","lang":"en","text":"have free shipping?",'
        '"translated":true,"reason":null}')


def test_acks() -> None:
    assert text(ack_frame("c1", message())) == (
        '{"type":"ack","client_id":"c1","id":"17","src_lang":"pt"}')
    assert text(ack_frame("c1", message(-81234567000001))) == (
        '{"type":"ack","client_id":"c1","id":"~81234567000001","src_lang":"pt",'
        '"provisional":true}')
    assert text(action_ack_frame("d1", "17")) == '{"type":"ack","client_id":"d1","id":"17"}'
    assert text(action_ack_frame("d1", None)) == '{"type":"ack","client_id":"d1","id":null}'


def test_deleted_pinned_lang_changed_presence_pong() -> None:
    assert text(deleted_frame(17)) == '{"type":"deleted","id":"17"}'
    assert text(pinned_frame(None, "en")) == '{"type":"pinned","id":null}'
    pinned = pinned_frame(message(), "pt")
    assert list(pinned) == ["type", "id", "comment"] and pinned["comment"]["text"] == (
        "tem frete grátis?")
    assert text(lang_changed_frame("ko", "s1", [], None)) == (
        '{"type":"lang_changed","lang":"ko","client_id":"s1","history":[],"pinned":null}')
    assert text(presence_frame("demo", {"en": 2, "pt": 1})) == (
        '{"type":"presence","room":"demo","viewers":{"en":2,"pt":1},"total":3}')
    assert text(pong_frame("p1")) == '{"type":"pong","client_id":"p1"}'


def test_errors() -> None:
    assert text(error_frame(codes.TEXT_TOO_LONG, "too long", "c1")) == (
        '{"type":"error","code":"text_too_long","message":"too long","client_id":"c1"}')
    slow = ProtocolError(codes.SLOW_MODE, "slow mode", "c2", retry_after_s=4.5).frame()
    assert text(slow) == ('{"type":"error","code":"slow_mode","message":"slow mode",'
                          '"client_id":"c2","retry_after_s":4.5}')


def test_msgpack_carries_the_same_map() -> None:
    frame = presence_frame("demo", {"en": 2})
    packed = Codec.MSGPACK.encode(frame)
    assert isinstance(packed, bytes)
    assert msgpack.unpackb(packed) == frame
