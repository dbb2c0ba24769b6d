"""Webhook endpoints: where events go, signed with which secret, and which event types each
wants; validated with clear errors, from the endpoints file (TOML or JSON) or from REST."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

COMMENT_PUBLISHED = "comment.published"
QUESTION_ASKED = "question.asked"
COMMENT_BLOCKED = "comment.blocked"
COMMENT_DELETED = "comment.deleted"
USER_MUTED = "user.muted"
EVENT_TYPES = (COMMENT_PUBLISHED, QUESTION_ASKED, COMMENT_BLOCKED, COMMENT_DELETED, USER_MUTED)

SECRET_PREFIX = "whsec_"
# The Standard Webhooks specification: a secret is 24 to 64 random bytes, base64.
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64
MAX_URL_CHARS = 2048
MAX_ENDPOINTS = 50
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FIELDS = frozenset({"id", "url", "secret", "events", "description"})


class EndpointError(ValueError):
    """An endpoint (or the endpoints file) that cannot work; the message says which and why."""


class EndpointShapeError(EndpointError):
    """The endpoint is not even the right shape: not an object, an unknown field, no url
    (as against values that are well-formed but make no endpoint)."""


class EndpointExists(EndpointError):
    """An endpoint with that id is configured already."""


@dataclass(frozen=True)
class Endpoint:
    """One receiver: ``url`` gets the ``events`` (event types) it asked for, signed with
    ``secret`` (``whsec_`` and base64)."""

    id: str
    url: str
    secret: str
    events: frozenset[str]
    description: str = ""

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint asked for events of ``event_type``."""
        return event_type in self.events

    def to_json(self) -> dict[str, Any]:
        """As REST shows it: the secret is never shown again after creation, only its start."""
        return {"id": self.id, "url": self.url, "events": sorted(self.events),
                "description": self.description, "secret_hint": self.secret[:10] + "…"}


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _where(where: str) -> str:
    return f"{where}: " if where else ""


def check_url(url: Any, where: str = "") -> str:
    """``url`` if it is an absolute http(s) URL with a host; ``EndpointError`` otherwise."""
    if not isinstance(url, str) or not url:
        raise EndpointError(f"{_where(where)}url must be a non-empty string (an http or https "
                            "URL)")
    if len(url) > MAX_URL_CHARS:
        raise EndpointError(f"{_where(where)}url is {len(url)} characters; at most "
                            f"{MAX_URL_CHARS}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise EndpointError(f"{_where(where)}url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{_where(where)}url {url!r} must be http:// or https:// with a "
                            "host, e.g. https://shop.example/hooks/babelcast")
    if any(c.isspace() for c in url):
        raise EndpointError(f"{_where(where)}url {url!r} must not contain whitespace")
    return url


def check_secret(secret: Any, where: str = "") -> str:
    """``secret`` if it is ``whsec_`` followed by 24 to 64 bytes in base64."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise EndpointError(f"{_where(where)}secret must be a string starting with "
                            f"{SECRET_PREFIX!r} followed by base64 (leave it out over REST to "
                            "have one made)")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise EndpointError(f"{_where(where)}secret: what follows {SECRET_PREFIX!r} is not "
                            "valid base64") from None
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise EndpointError(f"{_where(where)}secret is {len(raw)} bytes; the Standard Webhooks "
                            f"specification wants {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} "
                            "random bytes")
    return secret


def check_events(events: Any, where: str = "") -> frozenset[str]:
    """The event types of ``events`` (a non-empty list of known types; None: all of them)."""
    if events is None:
        return frozenset(EVENT_TYPES)
    if not isinstance(events, list) or not events or not all(isinstance(e, str)
                                                             for e in events):
        raise EndpointError(f"{_where(where)}events must be a non-empty list of event types "
                            f"({', '.join(EVENT_TYPES)}); leave it out for all of them")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise EndpointError(f"{_where(where)}unknown event type(s) {', '.join(unknown)}; known: "
                            f"{', '.join(EVENT_TYPES)}")
    return frozenset(events)


def parse_endpoint(data: Any, where: str = "", *, make_secret: bool = False) -> Endpoint:
    """One endpoint from its JSON/TOML form: ``url`` (required), ``secret`` (required unless
    ``make_secret``: then one is made), ``events`` (default: all), ``id`` (default: made),
    ``description``. ``EndpointError`` names the first problem (``where`` prefixes it)."""
    if not isinstance(data, Mapping):
        raise EndpointShapeError(f"{_where(where)}an endpoint must be an object with url, "
                                 "secret and events")
    extra = sorted(set(data) - _FIELDS)
    if extra:
        raise EndpointShapeError(f"{_where(where)}unknown field(s) "
                                 f"{', '.join(map(str, extra))}; an endpoint has "
                                 f"{', '.join(sorted(_FIELDS))}")
    if "url" not in data:
        raise EndpointShapeError(f"{_where(where)}url is missing")
    url = check_url(data["url"], where)
    if "secret" in data or not make_secret:
        secret = check_secret(data.get("secret"), where)
    else:
        secret = new_secret()
    events = check_events(data.get("events"), where)
    endpoint_id = data.get("id")
    if endpoint_id is None:
        endpoint_id = "ep_" + secrets.token_hex(8)
    elif not isinstance(endpoint_id, str) or not _ID.fullmatch(endpoint_id):
        raise EndpointError(f"{_where(where)}id must be 1-64 letters, digits, '_' or '-'")
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 200:
        raise EndpointError(f"{_where(where)}description must be a string of at most 200 "
                            "characters")
    return Endpoint(endpoint_id, url, secret, events, description)


def check_unique(endpoints: Iterable[Endpoint]) -> None:
    """``EndpointError`` when two endpoints share an id or there are too many."""
    seen: set[str] = set()
    count = 0
    for endpoint in endpoints:
        count += 1
        if endpoint.id in seen:
            raise EndpointError(f"two endpoints have the id {endpoint.id!r}")
        seen.add(endpoint.id)
    if count > MAX_ENDPOINTS:
        raise EndpointError(f"{count} endpoints; at most {MAX_ENDPOINTS}")


def load_endpoints(path: str | Path) -> list[Endpoint]:
    """The endpoints of a file: TOML (``[[endpoints]]`` tables) or JSON (``{"endpoints":
    [...]}``), by its extension. ``EndpointError`` names the file and the first problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EndpointError(f"cannot read webhooks file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        elif path.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode())
        else:
            raise EndpointError(f"webhooks file {path} must end in .toml or .json")
    except (ValueError, UnicodeDecodeError) as exc:  # TOMLDecodeError and JSONDecodeError too
        raise EndpointError(f"webhooks file {path} is not valid "
                            f"{path.suffix.lstrip('.').upper()}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise EndpointError(f"webhooks file {path} must have a list 'endpoints' "
                            "(TOML: [[endpoints]] tables)")
    extra = sorted(set(data) - {"endpoints"})
    if extra:
        raise EndpointError(f"webhooks file {path}: unknown key(s) {', '.join(extra)}")
    endpoints = [parse_endpoint(item, f"webhooks file {path}, endpoint {i + 1}")
                 for i, item in enumerate(data["endpoints"])]
    try:
        check_unique(endpoints)
    except EndpointError as exc:
        raise EndpointError(f"webhooks file {path}: {exc}") from None
    return endpoints
