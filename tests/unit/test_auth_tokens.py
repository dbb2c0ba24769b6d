"""Room tokens without a server: issue and verify, and every reason a token is refused."""

from __future__ import annotations

import time

import jwt
import pytest

from babelcast.gateway.web.auth import (
    AUDIENCE,
    MAX_TTL_S,
    Role,
    RoomTokens,
    TokenError,
    TokenProblem,
    secret_problem,
)

SECRET = "x" * 32
tokens = RoomTokens(SECRET)


def test_a_token_names_its_room_user_name_and_role() -> None:
    issued = tokens.issue("live-1", "user-42", "Ana", "moderator", 600, now=1_000.0)
    assert issued.expires_at == 1_600
    claims = jwt.decode(issued.token, SECRET, algorithms=["HS256"], audience=AUDIENCE,
                        options={"verify_exp": False})
    assert claims == {"room": "live-1", "sub": "user-42", "name": "Ana", "role": "moderator",
                      "aud": AUDIENCE, "iat": 1_000, "exp": 1_600}
    fresh = tokens.issue("live-1", "user-42", "Ana", Role.HOST, 600)
    who = tokens.verify(fresh.token, "live-1")
    assert (who.room, who.user_id, who.name, who.role) == ("live-1", "user-42", "Ana", Role.HOST)
    assert who.expires_at == fresh.expires_at and who.role.moderates
    assert not Role.VIEWER.moderates and Role.MODERATOR.moderates


def _problem(token: str | None, room: str = "live-1") -> TokenError:
    with pytest.raises(TokenError) as refused:
        tokens.verify(token, room)
    return refused.value


def _forged(claims: dict[str, object], key: str = SECRET) -> str:
    base = {"room": "live-1", "sub": "u1", "name": "Ana", "role": "viewer", "aud": AUDIENCE,
            "iat": int(time.time()), "exp": int(time.time()) + 600}
    return jwt.encode({k: v for k, v in (base | claims).items() if v is not None}, key,
                      algorithm="HS256")


@pytest.mark.parametrize(("token", "problem", "says"), [
    (None, TokenProblem.MISSING, "?token="),
    ("", TokenProblem.MISSING, "?token="),
    ("not-a-jwt", TokenProblem.MALFORMED, "not a valid room token"),
    ("a" * 5000, TokenProblem.MALFORMED, "longer than"),
    (_forged({}, key="y" * 32), TokenProblem.BAD_SIGNATURE, "secret"),
    (_forged({"exp": int(time.time()) - 3600}), TokenProblem.EXPIRED, "new one"),
    (_forged({}), TokenProblem.WRONG_ROOM, "'live-1', not 'other'"),
    (_forged({"aud": "someone-else"}), TokenProblem.MALFORMED, "Audience"),
    (_forged({"aud": None}), TokenProblem.MALFORMED, "aud"),
    (_forged({"sub": None}), TokenProblem.MALFORMED, "sub"),
    (_forged({"role": "admin"}), TokenProblem.MALFORMED, "role must be one of"),
    (_forged({"room": "../etc"}), TokenProblem.MALFORMED, "room"),
    (_forged({"name": "\x00\x01"}), TokenProblem.MALFORMED, "name"),
    (_forged({"sub": "x" * 65}), TokenProblem.MALFORMED, "sub"),
])
def test_every_refusal_has_its_reason(token: str | None, problem: TokenProblem,
                                      says: str) -> None:
    room = "other" if problem is TokenProblem.WRONG_ROOM else "live-1"
    err = _problem(token, room)
    assert err.problem is problem and says in err.message
    assert problem.value.startswith("token_")


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode({"room": "live-1", "sub": "u1", "name": "A", "role": "host",
                           "aud": AUDIENCE, "iat": 1, "exp": 2 ** 40}, None, algorithm="none")
    assert _problem(unsigned).problem is TokenProblem.MALFORMED


@pytest.mark.parametrize(("args", "says"), [
    (("bad room!", "u1", "Ana", "viewer", 60), "room"),
    (("r", "", "Ana", "viewer", 60), "user"),
    (("r", "u1", "  ", "viewer", 60), "name"),
    (("r", "u1", "A" * 65, "viewer", 60), "name"),
    (("r", "u1", "Ana", "owner", 60), "role must be one of viewer, host, moderator"),
    (("r", "u1", "Ana", "viewer", 0), "ttl_s"),
    (("r", "u1", "Ana", "viewer", MAX_TTL_S + 1), "ttl_s"),
    (("r", "u1", "Ana", "viewer", True), "ttl_s"),
])
def test_issuing_checks_its_arguments(args: tuple[object, ...], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        tokens.issue(*args)  # type: ignore[arg-type]


def test_short_or_missing_secrets_are_refused() -> None:
    assert "--jwt-secret" in (secret_problem("") or "")
    assert "31 bytes" in (secret_problem("s" * 31) or "")
    assert secret_problem("s" * 32) is None
    with pytest.raises(ValueError, match="at least 32"):
        RoomTokens("short")
