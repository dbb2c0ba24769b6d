"""Who a connection is: roles, and room tokens (HS256 JWTs) that carry them.

A room token names one room, one user (``sub``), the name shown on the user's comments and a
role. The platform that embeds the chat issues them (``babelcast token``, ``POST /v1/tokens``)
with the secret it shares with the gateway; the gateway only verifies. There is no wildcard
room: a leaked token is worth one room until it expires. See docs/security.md."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

import jwt

from babelcast.gateway.wire.client import strip_controls, validate_room
from babelcast.gateway.wire.errors import ProtocolError

ALGORITHM = "HS256"
# Tokens made for babelcast only: a JWT signed with the same secret for something else of the
# platform is not a room token.
AUDIENCE = "babelcast"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash
MAX_TOKEN_CHARS = 4096  # longer is not a token we issued; refuse before decoding
MAX_TTL_S = 7 * 24 * 3600
MAX_USER_ID_CHARS = 64
MAX_NAME_CHARS = 64
LEEWAY_S = 5  # clock skew tolerated between the issuer and the gateway


class Role(enum.Enum):
    """What a connection may do in its room."""

    VIEWER = "viewer"  # read, comment, change language
    HOST = "host"  # also delete, pin and mute
    MODERATOR = "moderator"  # the host's actions, for the people who help moderate

    @property
    def moderates(self) -> bool:
        """Whether this role may send host-only frames (delete, pin, ban)."""
        return self is not Role.VIEWER

    @classmethod
    def parse(cls, value: Any) -> Role:
        """A role from its wire name; ``ValueError`` naming the choices."""
        for role in cls:
            if value == role.value:
                return role
        choices = ", ".join(r.value for r in cls)
        raise ValueError(f"role must be one of {choices}, not {str(value)[:40]!r}")


class TokenProblem(enum.Enum):
    """Why a token was refused; the value is the error code clients see."""

    MISSING = "token_missing"
    MALFORMED = "token_malformed"
    BAD_SIGNATURE = "token_bad_signature"
    EXPIRED = "token_expired"
    WRONG_ROOM = "token_wrong_room"


class TokenError(Exception):
    """A room token that cannot be used; ``problem`` says why, the message what to do."""

    def __init__(self, problem: TokenProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class RoomIdentity:
    """A verified token's claims: who is in which room, in which role, until when."""

    room: str
    user_id: str
    name: str
    role: Role
    expires_at: int  # Unix seconds


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int  # Unix seconds


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot sign room tokens, or None."""
    if not secret:
        return ("room tokens need a secret: set --jwt-secret (BABELCAST_JWT_SECRET) to at "
                f"least {MIN_SECRET_BYTES} random bytes, e.g. `openssl rand -hex 32`")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return (f"jwt_secret is {len(secret.encode())} bytes; use at least "
                f"{MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`): a short HS256 "
                "key can be guessed offline from any token")
    return None


class RoomTokens:
    """Issues and verifies room tokens with one shared secret."""

    def __init__(self, secret: str) -> None:
        problem = secret_problem(secret)
        if problem:
            raise ValueError(problem)
        self._key = secret.encode()

    def issue(self, room: str, user_id: str, name: str, role: Role | str, ttl_s: int,
              now: float | None = None) -> IssuedToken:
        """A token for ``user_id`` in ``room``, valid ``ttl_s`` seconds from ``now``;
        ``ValueError`` says which argument is wrong."""
        claims = _checked_claims(room, user_id, name, role)
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= MAX_TTL_S:
            raise ValueError(f"ttl_s must be a whole number of seconds from 1 to {MAX_TTL_S}")
        issued_at = int(time.time() if now is None else now)
        expires_at = issued_at + ttl_s
        token = jwt.encode({**claims, "aud": AUDIENCE, "iat": issued_at, "exp": expires_at},
                           self._key, algorithm=ALGORITHM)
        return IssuedToken(token, expires_at)

    def verify(self, token: str | None, room: str | None) -> RoomIdentity:
        """The identity ``token`` grants in ``room`` (None: in the token's own room, for
        endpoints that belong to no room); ``TokenError`` if it grants none."""
        if not token:
            raise TokenError(TokenProblem.MISSING, "this server needs a room token: connect "
                             "with ?token=<token from the platform that embeds the chat>")
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError(TokenProblem.MALFORMED, f"the token is longer than "
                             f"{MAX_TOKEN_CHARS} characters; it is not a room token")
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE,
                                leeway=LEEWAY_S,
                                options={"require": ["exp", "iat", "sub", "aud"]})
        except jwt.ExpiredSignatureError:
            raise TokenError(TokenProblem.EXPIRED, "the room token has expired; get a new "
                             "one and reconnect") from None
        except jwt.InvalidSignatureError:
            raise TokenError(TokenProblem.BAD_SIGNATURE, "the room token was not signed with "
                             "this server's secret") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError(TokenProblem.MALFORMED, f"not a valid room token: {exc}") from None
        try:
            checked = _checked_claims(claims.get("room"), claims.get("sub"),
                                      claims.get("name"), claims.get("role"))
        except ValueError as exc:
            raise TokenError(TokenProblem.MALFORMED, f"not a valid room token: {exc}") from None
        if room is not None and checked["room"] != room:
            raise TokenError(TokenProblem.WRONG_ROOM, f"the token is for room "
                             f"{checked['room']!r}, not {room[:64]!r}")
        return RoomIdentity(room=checked["room"], user_id=checked["sub"], name=checked["name"],
                            role=Role(checked["role"]), expires_at=int(claims["exp"]))


def _checked_claims(room: Any, user_id: Any, name: Any, role: Any) -> dict[str, str]:
    """The token's own claims, validated the way the handshake validates query parameters."""
    if not isinstance(room, str):
        raise ValueError("room must be a room name")
    try:
        validate_room(room)
    except ProtocolError as exc:
        raise ValueError(f"room {room[:64]!r}: {exc.message}") from None
    if (not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_USER_ID_CHARS
            or not user_id.isprintable()):
        raise ValueError(f"user (sub) must be 1-{MAX_USER_ID_CHARS} printable characters")
    if not isinstance(name, str) or not strip_controls(name).strip():
        raise ValueError("name must be a non-empty display name")
    name = strip_controls(name).strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name has {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    role_name = (role if isinstance(role, Role) else Role.parse(role)).value
    return {"room": room, "sub": user_id, "name": name, "role": role_name}
