"""The sans-I/O protocol core: decoding, validation, encoding, rate limiting."""

from __future__ import annotations

import json

import msgpack
import pytest

from babelcast.gateway.limits.bucket import TokenBucket
from babelcast.gateway.wire import codes
from babelcast.gateway.wire.client import (
    BanIn,
    ClientFrame,
    CommentIn,
    DeleteIn,
    InputLimits,
    PingIn,
    PinIn,
    SetLangIn,
    parse_client_frame,
    validate_name,
    validate_room,
    validate_since,
)
from babelcast.gateway.wire.codec import Codec
from babelcast.gateway.wire.errors import ProtocolError

LIMITS = InputLimits(max_text_chars=10, max_frame_bytes=200)


def parse(obj: object, codec: Codec = Codec.JSON) -> ClientFrame:
    data = json.dumps(obj) if codec is Codec.JSON else msgpack.packb(obj)
    return parse_client_frame(data, codec, LIMITS)


def test_comment_text_is_stripped_of_controls_and_whitespace() -> None:
    frame = parse({"type": "comment", "text": "  oi\x00 tudo\x1b\n", "client_id": "c"})
    assert frame == CommentIn("oi tudo", "c")


def test_text_length_counts_characters_not_bytes() -> None:
    assert parse({"type": "comment", "text": "ã" * 10}) == CommentIn("ã" * 10, None)
    with pytest.raises(ProtocolError) as err:
        parse({"type": "comment", "text": "ã" * 11, "client_id": "x"})
    assert err.value.code == codes.TEXT_TOO_LONG and err.value.client_id == "x"


def test_set_lang_normalises_region_subtags() -> None:
    assert parse({"type": "set_lang", "lang": "pt-BR"}) == SetLangIn("pt", None)
    assert parse({"type": "set_lang", "lang": "ZH_hant"}) == SetLangIn("zh", None)


@pytest.mark.parametrize("lang", ["xx", "", "english", "p", 12, None])
def test_invalid_languages_are_refused(lang: object) -> None:
    with pytest.raises(ProtocolError) as err:
        parse({"type": "set_lang", "lang": lang})
    assert err.value.code == codes.INVALID_LANG


def test_msgpack_frames_decode_like_json() -> None:
    assert parse({"type": "ping", "client_id": "z"}, Codec.MSGPACK) == PingIn("z")


def test_codec_rejects_the_other_frame_kind() -> None:
    with pytest.raises(ProtocolError):
        Codec.JSON.decode(b'{"type":"ping"}')
    with pytest.raises(ProtocolError):
        Codec.MSGPACK.decode('{"type":"ping"}')


def test_frame_size_is_checked_before_decoding() -> None:
    with pytest.raises(ProtocolError) as err:
        parse_client_frame("x" * 201, Codec.JSON, LIMITS)
    assert err.value.code == codes.FRAME_TOO_LARGE


def test_encode_roundtrips_unicode_without_escaping() -> None:
    frame = {"type": "comment", "text": "배송 얼마예요? 😍"}
    out = Codec.JSON.encode(frame)
    assert isinstance(out, str) and "배송" in out
    assert msgpack.unpackb(Codec.MSGPACK.encode(frame)) == frame


def test_subprotocol_choice() -> None:
    assert Codec.for_subprotocols(["babelcast.v1.msgpack"]) == (
        Codec.MSGPACK, "babelcast.v1.msgpack")
    assert Codec.for_subprotocols([]) == (Codec.JSON, None)
    assert Codec.for_subprotocols(["other", "babelcast.v1.json"]) == (
        Codec.JSON, "babelcast.v1.json")


@pytest.mark.parametrize("room", ["demo", "shop-42", "a.b_c", "A" * 64])
def test_valid_room_names(room: str) -> None:
    assert validate_room(room) == room


@pytest.mark.parametrize("room", ["", "-x", ".x", "a b", "a/b", "A" * 65, "é"])
def test_invalid_room_names(room: str) -> None:
    with pytest.raises(ProtocolError):
        validate_room(room)


def test_since_and_name_validation() -> None:
    assert validate_since(None) is None and validate_since("42") == 42
    with pytest.raises(ProtocolError):
        validate_since("-1")
    assert validate_name(" Ana\x00 ", 32, "guest") == "Ana"
    assert validate_name("   ", 32, "guest") == "guest"
    with pytest.raises(ProtocolError):
        validate_name("n" * 33, 32, "guest")


def test_token_bucket_allows_bursts_then_refills_at_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.4) is False  # 0.8 token
    assert bucket.take(0.5) is True   # 1.0 token
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # capped


def test_host_frames_parse_for_hosts_and_are_forbidden_for_viewers() -> None:
    frames = [({"type": "delete", "id": "17", "client_id": "d"}, DeleteIn(17, "d")),
              ({"type": "pin", "id": "3"}, PinIn(3, None)),
              ({"type": "pin", "id": None}, PinIn(None, None)),
              ({"type": "ban", "user_id": "u-5c019e0f"}, BanIn("u-5c019e0f", None))]
    for obj, want in frames:
        assert parse_client_frame(json.dumps(obj), Codec.JSON, LIMITS, host=True) == want
        with pytest.raises(ProtocolError) as err:
            parse(obj)
        assert err.value.code == codes.FORBIDDEN


def test_host_frames_with_bad_targets_name_the_field() -> None:
    for obj in ({"type": "delete", "id": 17}, {"type": "delete", "id": "１７"},
                {"type": "delete", "id": "1" * 19}, {"type": "pin"},
                {"type": "ban", "user_id": None}, {"type": "ban", "user_id": "x" * 65}):
        with pytest.raises(ProtocolError) as err:
            parse_client_frame(json.dumps(obj | {"client_id": "c"}), Codec.JSON, LIMITS,
                               host=True)
        assert err.value.code == codes.INVALID_FIELD and err.value.client_id == "c"
