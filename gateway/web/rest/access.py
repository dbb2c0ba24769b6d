"""Who may call what: the admin key (a platform's back end) and the access rules of the
translation endpoint, which spends model time."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass

from starlette.requests import Request

from babelcast.gateway.limits.base import RateLimiter
from babelcast.gateway.web.auth import RoomTokens, TokenError
from babelcast.gateway.web.rest.errors import ApiError


def bearer(request: Request) -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, if there is one."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


@dataclass(frozen=True)
class AdminAccess:
    """The admin key, and the auth mode that decides what its absence means."""

    admin_key: str
    auth: str  # "none" or "jwt"

    def has_key(self, request: Request) -> bool:
        """Whether the request carries the admin key."""
        key, given = self.admin_key, bearer(request)
        return bool(key) and given is not None and hmac.compare_digest(given.encode(),
                                                                       key.encode())

    def require(self, request: Request) -> None:
        """Admin endpoints need ``Authorization: Bearer <admin_key>``. Without a configured
        key they are open under ``--auth none`` (the demo; start-up logs a warning) and closed
        under ``--auth jwt``."""
        if not self.admin_key:
            if self.auth == "none":
                return
            raise ApiError(403, "admin_disabled", "admin endpoints are disabled: this server "
                           "runs --auth jwt without an admin key; set --admin-key "
                           "(BABELCAST_ADMIN_KEY)")
        if not self.has_key(request):
            raise ApiError(401, "unauthorized", "this endpoint needs the admin key: send "
                           "'Authorization: Bearer <admin_key>'")


@dataclass(frozen=True)
class TranslateAccess:
    """Who may spend model time through ``POST /v1/translate``, and how often."""

    admin: AdminAccess
    tokens: RoomTokens | None  # --auth jwt: a room token is needed
    rates: RateLimiter | None  # per client IP; None: unlimited

    async def check(self, request: Request) -> None:
        """The admin key (a platform's backend) passes unlimited. Otherwise, with ``--auth
        jwt``, a valid room token of any room is needed (``Authorization: Bearer``; 401
        without), and every caller is limited per client IP (``translate_rate_per_ip``; 429
        with ``Retry-After``)."""
        if self.admin.has_key(request):
            return
        if self.tokens is not None:
            given = bearer(request)
            if given is None:
                raise ApiError(401, "unauthorized", "this server runs --auth jwt: send "
                               "'Authorization: Bearer <room token>' (or the admin key)")
            try:
                self.tokens.verify(given, None)
            except TokenError as exc:
                raise ApiError(401, exc.problem.value, exc.message) from None
        limiter = self.rates
        ip = request.client.host if request.client else "unknown"
        if limiter is not None and not await limiter.take(("ip", ip)):
            retry_s = max(1, math.ceil(1 / limiter.rate))
            raise ApiError(429, "rate_limited", f"too many translation requests from your "
                           f"address: at most {limiter.rate:g}/s (bursts of {limiter.burst}); "
                           f"retry in {retry_s} s", headers={"Retry-After": str(retry_s)})
